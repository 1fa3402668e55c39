import { describe, expect, it } from 'vitest';
import { BYTE_TO_UNICODE, toByteLevel } from '../../../../src/models/tokenizer/byte-unicode.js';

describe('byte-level alphabet', () => {
  it('gives 256 distinct printable characters, printable Latin-1 bytes standing for themselves', () => {
    expect(new Set(BYTE_TO_UNICODE).size).toBe(256);
    expect(BYTE_TO_UNICODE[0x41]).toBe('A');
    expect(BYTE_TO_UNICODE[0xe9]).toBe('é');
    for (const c of BYTE_TO_UNICODE) expect(c).toMatch(/^[^\s\p{C}]$/u);
  });

  it("writes a string's UTF-8 bytes, as TextEncoder encodes them, lone surrogates included", () => {
    const encoder = new TextEncoder();
    for (const text of ['plain ascii', 'café', '東京', '😀🔥', 'a\ud800b', '\udc00', 'x\ud83d']) {
      const expected = Array.from(encoder.encode(text), (b) => BYTE_TO_UNICODE[b]).join('');
      expect(toByteLevel(text)).toBe(expected);
    }
  });
});
