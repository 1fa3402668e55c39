import { htmlUnescape } from './html-unescape.js';

/**
 * The characters Python's `str.isspace` accepts, which CLIP's `\s+` cleaning and `strip` use.
 * JavaScript's `\s` differs: it lacks U+001C–U+001F and U+0085 and adds U+FEFF.
 */
export const PYTHON_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const WHITESPACE_RUN = new RegExp(`[${PYTHON_WHITESPACE}]+`, 'gu');

/**
 * CLIP's text cleaning, before the text is split into words:
 * 1. NFC normalisation. CLIP runs ftfy here; its other repairs (mojibake, curly quotes, ligatures,
 *    full-width forms) are not done, as transformers' CLIPTokenizer does not do them either.
 * 2. `html.unescape` twice, so that `&amp;lt;` becomes `<`, then NFC again: ftfy decodes
 *    references before it normalises, so `e&#769;` ends up as one `é`.
 * 3. Whitespace runs become one space, the ends are trimmed, and the text is lower-cased.
 */
export function cleanText(text: string): string {
  let out = text.normalize('NFC');
  if (out.includes('&')) out = htmlUnescape(htmlUnescape(out)).normalize('NFC');
  out = out.replace(WHITESPACE_RUN, ' ');
  // Not String.trim: its whitespace is JavaScript's. Every run is one space by now.
  const start = out.startsWith(' ') ? 1 : 0;
  const end = out.length > start && out.endsWith(' ') ? out.length - 1 : out.length;
  return out.slice(start, end).toLowerCase();
}
