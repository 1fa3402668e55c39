import { jsonDepthExceededAt } from './json-depth.js';
import { JsonParseError } from './errors.js';
import { safeSnippet } from './snippet.js';

/** A parsed JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Deepest nesting of arrays and objects accepted. Model configs, tokenizer files, fixtures and
 * safetensors headers nest at most 5 levels; a deeper file is corrupt or built to overflow the
 * stack of whatever walks the parsed value (the lenient parser below, `JSON.stringify`).
 */
export const MAX_JSON_DEPTH = 64;

/** Options of `parseLenientJson`. */
export interface JsonParseOptions {
  /** Default `MAX_JSON_DEPTH`. */
  maxDepth?: number;
}

/**
 * Parses JSON as Python's `json` module writes it: strict JSON plus the bare tokens `NaN`,
 * `Infinity` and `-Infinity` outside strings (diffusers writes `"lambda_min_clipped": -Infinity`
 * into DPM-Solver configs). Errors are `JsonParseError`s naming `sourceName` and the line and
 * column, quoting at most a short escaped snippet; nesting deeper than `maxDepth` is one too.
 */
export function parseLenientJson(text: string, sourceName: string, options: JsonParseOptions = {}): JsonValue {
  checkJsonDepth(text, sourceName, options.maxDepth ?? MAX_JSON_DEPTH);
  // The native parser is much faster on large files (vocab.json); only files it rejects,
  // either for the Python tokens or for a real fault, go through the lenient parser below.
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return new LenientParser(text, sourceName).parseDocument();
  }
}

/** Throws `JsonParseError` at the first bracket that opens level `maxDepth + 1` (see `jsonDepthExceededAt`). */
export function checkJsonDepth(text: string, file: string, maxDepth: number): void {
  const at = jsonDepthExceededAt(text, maxDepth);
  if (at < 0) return;
  const { line, column } = lineAndColumn(text, at);
  throw new JsonParseError(file, line, column, `nesting deeper than ${maxDepth} levels; model files nest a few levels, so this one is corrupt or not the file expected here`);
}

function lineAndColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: pos - lineStart + 1 };
}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class LenientParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  parseDocument(): JsonValue {
    // A byte-order mark is not JSON, but editors on Windows write one.
    if (this.text.charCodeAt(0) === 0xfeff) this.pos = 1;
    const value = this.value();
    this.skipSpace();
    if (this.pos < this.text.length) this.fail(`unexpected ${this.describeHere()} after the top-level value`);
    return value;
  }

  private value(): JsonValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (this.consumeWord('true')) return true;
    if (this.consumeWord('false')) return false;
    if (this.consumeWord('null')) return null;
    if (this.consumeWord('NaN')) return Number.NaN;
    if (this.consumeWord('Infinity')) return Number.POSITIVE_INFINITY;
    if (this.consumeWord('-Infinity')) return Number.NEGATIVE_INFINITY;
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match) {
      this.pos += match[0].length;
      return Number(match[0]);
    }
    return this.fail(`expected a value, found ${this.describeHere()}`);
  }

  private object(): { [key: string]: JsonValue } {
    this.pos++;
    const out: { [key: string]: JsonValue } = {};
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail(`expected a string key, found ${this.describeHere()}`);
      const key = this.string();
      this.skipSpace();
      this.expect(':');
      // defineProperty, so that a "__proto__" key stays a plain key.
      Object.defineProperty(out, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      this.expect('}');
      return out;
    }
  }

  private array(): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipSpace();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      this.expect(']');
      return out;
    }
  }

  private string(): string {
    this.pos++;
    let out = '';
    let start = this.pos;
    for (;;) {
      if (this.pos >= this.text.length) this.fail('unterminated string');
      const code = this.text.charCodeAt(this.pos);
      if (code === 0x22) {
        out += this.text.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (code < 0x20) this.fail('control character in string');
      if (code !== 0x5c) {
        this.pos++;
        continue;
      }
      out += this.text.slice(start, this.pos);
      const esc = this.text[this.pos + 1] ?? '';
      if (esc === 'u') {
        const hex = this.text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(`bad \\u escape "\\u${safeSnippet(hex)}"`);
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else {
        const replacement = ESCAPES[esc];
        if (replacement === undefined) this.fail(`bad escape "\\${safeSnippet(esc)}"`);
        out += replacement;
        this.pos += 2;
      }
      start = this.pos;
    }
  }

  private consumeWord(word: string): boolean {
    if (!this.text.startsWith(word, this.pos)) return false;
    const next = this.text.charCodeAt(this.pos + word.length);
    // "Infinityx" or "nullable" is not a token followed by garbage we should accept.
    if (/[A-Za-z0-9_]/.test(String.fromCharCode(next))) return false;
    this.pos += word.length;
    return true;
  }

  private expect(c: string): void {
    if (this.text[this.pos] !== c) this.fail(`expected "${c}", found ${this.describeHere()}`);
    this.pos++;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  private describeHere(): string {
    if (this.pos >= this.text.length) return 'end of input';
    return `"${safeSnippet(this.text.slice(this.pos, this.pos + 12))}"`;
  }

  private fail(message: string): never {
    const { line, column } = lineAndColumn(this.text, this.pos);
    throw new JsonParseError(this.file, line, column, message);
  }
}
