/**
 * The byte-level alphabet of GPT-2 and CLIP BPE: every byte value gets one printable character,
 * so the vocabulary never holds whitespace or control characters. Printable Latin-1 bytes stand
 * for themselves; the 68 others take the code points from U+0100 up, in byte order.
 */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

function buildByteToUnicode(): string[] {
  const table = new Array<string>(256);
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : next++);
  }
  return table;
}

/**
 * The UTF-8 bytes of `text`, each written as its byte-level character. A lone surrogate, which
 * UTF-8 cannot hold, is encoded as U+FFFD, as `TextEncoder` does.
 */
export function toByteLevel(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 0x80) {
      out += BYTE_TO_UNICODE[cp];
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const low = text.charCodeAt(i + 1);
      if (cp <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    }
    if (cp < 0x800) {
      out += BYTE_TO_UNICODE[0xc0 | (cp >> 6)] + BYTE_TO_UNICODE[0x80 | (cp & 0x3f)];
    } else if (cp < 0x10000) {
      out += BYTE_TO_UNICODE[0xe0 | (cp >> 12)] + BYTE_TO_UNICODE[0x80 | ((cp >> 6) & 0x3f)] + BYTE_TO_UNICODE[0x80 | (cp & 0x3f)];
    } else {
      out +=
        BYTE_TO_UNICODE[0xf0 | (cp >> 18)] +
        BYTE_TO_UNICODE[0x80 | ((cp >> 12) & 0x3f)] +
        BYTE_TO_UNICODE[0x80 | ((cp >> 6) & 0x3f)] +
        BYTE_TO_UNICODE[0x80 | (cp & 0x3f)];
    }
  }
  return out;
}
