/** Longest piece of file content an error message quotes, in UTF-16 code units. */
export const MAX_SNIPPET_CHARS = 64;

/**
 * Makes a piece of untrusted file content safe to put in an error message: at most `max`
 * characters (a longer text is cut, with the count of what was left out), and control, format
 * and separator characters, which could rewrite a terminal line or reorder text (bidi
 * overrides), written as `\xNN`/`\uNNNN` escapes. A cut never splits a surrogate pair; lone
 * surrogates are escaped too. No quotes are added.
 */
export function safeSnippet(text: string, max = MAX_SNIPPET_CHARS): string {
  let end = Math.min(text.length, max);
  // Keep a pair whole rather than leaving half of it at the cut.
  if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
  let out = '';
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    if (isHighSurrogate(code) && i + 1 < end && isLowSurrogate(text.charCodeAt(i + 1))) {
      out += text[i]! + text[i + 1]!;
      i++;
    } else if (needsEscape(code)) {
      out += code < 0x100 ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
    } else {
      out += text[i];
    }
  }
  return end < text.length ? `${out}… (${text.length - end} more characters)` : out;
}

function needsEscape(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0xad ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x2069) ||
    code === 0xfeff ||
    isHighSurrogate(code) ||
    isLowSurrogate(code)
  );
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function hex(code: number, digits: number): string {
  return code.toString(16).toUpperCase().padStart(digits, '0');
}
