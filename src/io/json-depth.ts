/**
 * Index of the first bracket that opens nesting level `maxDepth + 1` of JSON `text`, or -1.
 * One pass over the characters (strings skipped, no recursion, no parse), stopping at that
 * bracket, so a body of 500,000 `[` costs a loop, not a stack: it runs before any parser.
 * Text that is not JSON gives an answer that does not matter; the parse after it fails anyway.
 */
export function jsonDepthExceededAt(text: string, maxDepth: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      i = endOfString(text, i);
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > maxDepth) return i;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      depth--;
    }
  }
  return -1;
}

/** Index of the quote closing the string that opens at `start` (the last index when unterminated). */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === BACKSLASH) i++;
    else if (code === QUOTE) return i;
  }
  return text.length;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
