import { describe, expect, it } from 'vitest';
import { htmlUnescape } from '../../../../src/models/tokenizer/html-unescape.js';

// Each expectation restates a rule of Python's `html.unescape` (the HTML standard's reading of
// character references), which CLIP's cleaning calls.
describe('htmlUnescape', () => {
  it.each([
    ['named references with their semicolon', 'a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;', 'a <b> & "c" \'d\''],
    ['names are case-sensitive', '&Eacute;&eacute;&EACUTE;', 'Éé&EACUTE;'],
    ['legacy names without a semicolon', '&copy 2024 &amp co', '© 2024 & co'],
    ['the longest legacy prefix of a longer name', '&copyright &notit; &ampfoo', '©right ¬it; &foo'],
    ['names that need their semicolon', '&hellip &hellip;', '&hellip …'],
    ['references made of two characters', '&NotEqualTilde;', '\u2242\u0338'],
    ['decimal and hexadecimal codes, the semicolon optional', '&#65;&#x42;&#X43&#100', 'ABCd'],
    ['astral code points', '&#128512;&#x1F600;', '😀😀'],
    ['codes 0x80-0x9F read as Windows-1252', '&#128;&#x93;x&#x94;&#x81;', '\u20ac\u201cx\u201d\x81'],
    ['code 0, surrogates and codes past U+10FFFF become U+FFFD', '&#0;&#xD800;&#x110000;&#99999999999999999999999;', '\ufffd\ufffd\ufffd\ufffd'],
    ['control and noncharacter codes are removed', 'a&#1;&#x0B;&#x7F;&#xFDD0;&#xFFFE;&#x10FFFF;b', 'ab'],
    ['carriage return as code 13', '&#13;', '\r'],
    ['unknown names and bare ampersands stay', '&nosuch; & &; &# &#x; AT&T', '&nosuch; & &; &# &#x; AT&T'],
  ])('decodes %s', (_rule, input, expected) => {
    expect(htmlUnescape(input)).toBe(expected);
  });

  it('decodes one level per call, so CLIP calls it twice', () => {
    expect(htmlUnescape('&amp;lt;')).toBe('&lt;');
    expect(htmlUnescape(htmlUnescape('&amp;lt;'))).toBe('<');
  });
});
