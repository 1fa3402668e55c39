import { LEGACY_NAMES_WITHOUT_SEMICOLON, NAMED_REFERENCES } from './html-entities.js';

/**
 * Replaces HTML character references the way Python's `html.unescape` does (CLIP's cleaning
 * calls it), including its handling of references the HTML standard calls parse errors:
 * - `&name;` for every named reference, and the legacy names without `;` (`&amp`, `&copy`),
 *   also as the longest prefix of a longer run (`&copyright` → `©right`);
 * - `&#123;` and `&#x7b;`, the `;` optional; code 0, surrogates and codes past U+10FFFF become
 *   U+FFFD, codes 0x80–0x9F are read as Windows-1252, and the other control and noncharacter
 *   codes are removed;
 * - anything else stays as it was.
 */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(REFERENCE, replaceReference);
}

// The groups of Python's `html._charref`: decimal, hexadecimal, then a named candidate of at
// most 32 characters.
const REFERENCE = /&(?:#([0-9]+);?|#[xX]([0-9a-fA-F]+);?|([^\t\n\f <&#;]{1,32});?)/gu;

function replaceReference(match: string, decimal: string | undefined, hex: string | undefined, name: string | undefined): string {
  if (decimal !== undefined) return fromCodeReference(Number.parseInt(decimal, 10));
  if (hex !== undefined) return fromCodeReference(Number.parseInt(hex, 16));
  return fromNamedReference(match.slice(1));
}

/** Windows-1252 meanings of 0x80–0x9F; the five codes it leaves undefined stay themselves. */
const WINDOWS_1252_HIGH = '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';

function fromCodeReference(code: number): string {
  if (code === 0) return '\ufffd';
  if (code === 0x0d) return '\r';
  if (code >= 0x80 && code <= 0x9f) return WINDOWS_1252_HIGH[code - 0x80];
  // Digit runs too long for a double parse to Infinity, which this test also catches.
  if ((code >= 0xd800 && code <= 0xdfff) || !(code <= 0x10ffff)) return '\ufffd';
  if (isRemovedCode(code)) return '';
  return String.fromCodePoint(code);
}

function isRemovedCode(code: number): boolean {
  return (
    (code >= 0x01 && code <= 0x08) ||
    code === 0x0b ||
    (code >= 0x0e && code <= 0x1f) ||
    code === 0x7f ||
    (code >= 0xfdd0 && code <= 0xfdef) ||
    (code & 0xfffe) === 0xfffe
  );
}

/** `reference` is the text after `&`: the name and its `;` when there was one. */
function fromNamedReference(reference: string): string {
  const tables = namedTables();
  if (reference.endsWith(';')) {
    const value = tables.withSemicolon.get(reference.slice(0, -1));
    if (value !== undefined) return value;
  } else if (tables.legacy.has(reference)) {
    return tables.withSemicolon.get(reference)!;
  }
  // The longest legacy name the reference starts with, as the HTML standard's tokenizer reads it.
  for (let end = reference.length - 1; end > 1; end--) {
    const prefix = reference.slice(0, end);
    if (tables.legacy.has(prefix)) return tables.withSemicolon.get(prefix)! + reference.slice(end);
  }
  return `&${reference}`;
}

interface NamedTables {
  withSemicolon: Map<string, string>;
  legacy: Set<string>;
}

let tables: NamedTables | null = null;

// Parsed on first use: most prompts hold no reference at all.
function namedTables(): NamedTables {
  if (tables) return tables;
  const parts = NAMED_REFERENCES.split(' ');
  const withSemicolon = new Map<string, string>();
  for (let i = 0; i < parts.length; i += 2) withSemicolon.set(parts[i], parts[i + 1]);
  tables = { withSemicolon, legacy: new Set(LEGACY_NAMES_WITHOUT_SEMICOLON.split(' ')) };
  return tables;
}
