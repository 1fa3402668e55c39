/**
 * NFC normalisation in time linear in the text, with the result of `String.prototype.normalize`.
 *
 * ICU (behind `normalize`) puts each combining mark in canonical order by insertion, so a run of
 * n marks in descending combining class costs O(n²): 40k marks took 1.9 s, a 1 MB run hung for
 * minutes. No real text has such runs (Unicode's stream-safe format allows 30 marks in a row),
 * but a prompt can. Long runs are therefore put in canonical order here first, by a linear
 * counting sort, and canonically equivalent text has the same NFC.
 *
 * @module
 */

/**
 * Runs of at least this many marks are reordered here. Every character with a nonzero combining
 * class, and every one whose decomposition starts with one, is a mark (`\p{M}`), so shorter runs
 * bound ICU's insertion cost: runs of 63 marks in descending class cost it about 70 ms per MB,
 * as much as this path costs with its overhead per run, while runs of 1000 cost it 850 ms.
 */
const LONG_RUN = 64;

/** `text.normalize('NFC')`, without ICU's quadratic cost on long runs of combining marks. */
export function normalizeNfc(text: string): string {
  // Marks start at U+0300; most prompts have no character that high.
  if (!/[^\0-\u02ff]/.test(text)) return text.normalize('NFC');
  let out = '';
  let copied = 0;
  let order: CanonicalOrder | null = null;
  let runStart = 0;
  let runLength = 0;
  const endRun = (end: number): void => {
    if (runLength >= LONG_RUN) {
      order ??= new CanonicalOrder();
      out += text.slice(copied, runStart) + order.reorder(text.slice(runStart, end));
      copied = end;
    }
    runLength = 0;
  };
  const marks = bmpMarkTable();
  for (let i = 0; i < text.length; ) {
    const unit = text.charCodeAt(i);
    const code = unit >= 0xd800 && unit <= 0xdbff ? text.codePointAt(i)! : unit;
    if (code > 0xffff ? isAstralMark(code) : marks[code] === 1) {
      if (runLength++ === 0) runStart = i;
    } else if (runLength > 0) {
      endRun(i);
    }
    i += code > 0xffff ? 2 : 1;
  }
  endRun(text.length);
  return copied === 0 ? text.normalize('NFC') : (out + text.slice(copied)).normalize('NFC');
}

let bmpMarks: Uint8Array | null = null;
const MARK = /^\p{M}$/u;

/** 1 for each BMP code point that is a mark (`\p{M}`): built on first use, in about 10 ms. */
function bmpMarkTable(): Uint8Array {
  if (bmpMarks === null) {
    bmpMarks = new Uint8Array(0x10000);
    for (let c = 0x300; c < 0x10000; c++) bmpMarks[c] = MARK.test(String.fromCharCode(c)) ? 1 : 0;
  }
  return bmpMarks;
}

const astralMarks = new Map<number, boolean>();

function isAstralMark(code: number): boolean {
  let mark = astralMarks.get(code);
  if (mark === undefined) {
    mark = MARK.test(String.fromCodePoint(code));
    // Bounded: the astral planes hold about a million code points, and few prompts reach them.
    if (astralMarks.size < 4096) astralMarks.set(code, mark);
  }
  return mark;
}

/**
 * Canonical ordering (Unicode's D109) of runs of marks. JavaScript has no API for a
 * character's combining class, so the classes are learned from `normalize('NFD')` itself: it
 * swaps two adjacent marks exactly when the second has the lower nonzero class. Typed arrays
 * throughout: a 1 MB run is a million characters.
 */
class CanonicalOrder {
  /** One sample character per combining class met so far, ascending by class. */
  private readonly samples: string[] = [];
  /** Class id (numbered in order of discovery) → rank (its position in `samples`), kept current. */
  private readonly rankOf: number[] = [];
  /** Rank → class id: the inverse of `rankOf`. */
  private readonly idAt: number[] = [];
  /** Decomposed character → class id, or -1 for a starter (class 0). */
  private readonly classOf = new Map<string, number>();
  /** Code point → its decomposition's code points and their class ids, flattened as pairs. */
  private readonly decompositions = new Map<number, Int32Array>();
  private output = new Uint16Array(1024);
  private outputLength = 0;
  private stretchCodes = new Int32Array(1024);
  private stretchClasses = new Int32Array(1024);
  private stretchLength = 0;
  /** Scratch space of the counting sort. */
  private readonly starts = new Int32Array(257);
  private sorted = new Int32Array(0);

  /**
   * `run` decomposed, with every stretch of non-starters stably sorted by combining class: a
   * canonically equivalent string that ICU normalises in linear time.
   */
  reorder(run: string): string {
    // A mark decomposes to at most two; growing stays for safety, sizing avoids it.
    if (this.output.length < 2 * run.length) this.output = new Uint16Array(2 * run.length);
    if (this.stretchCodes.length < 2 * run.length) {
      this.stretchCodes = new Int32Array(2 * run.length);
      this.stretchClasses = new Int32Array(2 * run.length);
    }
    this.outputLength = 0;
    for (let i = 0; i < run.length; ) {
      const code = run.codePointAt(i)!;
      i += code > 0xffff ? 2 : 1;
      const parts = this.decompose(code);
      for (let k = 0; k < parts.length; k += 2) {
        const cls = parts[k + 1]!;
        if (cls < 0) {
          this.flushStretch();
          this.emit(parts[k]!);
        } else {
          if (this.stretchLength === this.stretchCodes.length) {
            this.stretchCodes = grow(this.stretchCodes);
            this.stretchClasses = grow(this.stretchClasses);
          }
          this.stretchCodes[this.stretchLength] = parts[k]!;
          this.stretchClasses[this.stretchLength++] = cls;
        }
      }
    }
    this.flushStretch();
    let out = '';
    // In chunks: `fromCharCode` takes its units as arguments, and those are bounded.
    for (let i = 0; i < this.outputLength; i += 8192) {
      out += String.fromCharCode.apply(null, this.output.subarray(i, Math.min(i + 8192, this.outputLength)) as unknown as number[]);
    }
    return out;
  }

  private emit(code: number): void {
    if (this.outputLength + 2 > this.output.length) this.output = grow(this.output);
    if (code > 0xffff) {
      this.output[this.outputLength++] = 0xd800 + ((code - 0x10000) >> 10);
      this.output[this.outputLength++] = 0xdc00 + ((code - 0x10000) & 0x3ff);
    } else {
      this.output[this.outputLength++] = code;
    }
  }

  /** Emits the stretch stably sorted by class: a counting sort, linear in its length. */
  private flushStretch(): void {
    const n = this.stretchLength;
    const codes = this.stretchCodes;
    const ranks = this.stretchClasses;
    // Ranks are read now: a class learned since only ever went between existing ones.
    for (let i = 0; i < n; i++) ranks[i] = this.rankOf[ranks[i]!]!;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = ranks[i - 1]! <= ranks[i]!;
    if (sorted) {
      for (let i = 0; i < n; i++) this.emit(codes[i]!);
    } else {
      // Combining classes are one byte, so there are at most 255 nonzero ones.
      const starts = this.starts.fill(0, 0, this.samples.length + 1);
      for (let i = 0; i < n; i++) starts[ranks[i]! + 1]!++;
      for (let r = 1; r <= this.samples.length; r++) starts[r]! += starts[r - 1]!;
      if (this.sorted.length < n) this.sorted = new Int32Array(this.stretchCodes.length);
      const order = this.sorted;
      for (let i = 0; i < n; i++) order[starts[ranks[i]!]!++] = codes[i]!;
      for (let i = 0; i < n; i++) this.emit(order[i]!);
    }
    this.stretchLength = 0;
  }

  private decompose(code: number): Int32Array {
    let parts = this.decompositions.get(code);
    if (parts === undefined) {
      const chars = Array.from(String.fromCodePoint(code).normalize('NFD'));
      parts = new Int32Array(chars.flatMap((char) => [char.codePointAt(0)!, this.classify(char)]));
      this.decompositions.set(code, parts);
    }
    return parts;
  }

  /** The class id of a fully decomposed character (-1: a starter), by binary search over the known classes. */
  private classify(char: string): number {
    const known = this.classOf.get(char);
    if (known !== undefined) return known;
    let id = -1;
    // U+0345 has the highest class (240): NFD moves every other non-starter in front of it.
    if (char === '\u0345' || ('\u0345' + char).normalize('NFD').codePointAt(0) !== 0x345) {
      let low = 0;
      let high = this.samples.length;
      while (low < high && id < 0) {
        const mid = (low + high) >> 1;
        if (sortsBefore(char, this.samples[mid]!)) high = mid;
        else if (sortsBefore(this.samples[mid]!, char)) low = mid + 1;
        else id = this.idAt[mid]!;
      }
      if (id < 0) {
        id = this.rankOf.length;
        this.samples.splice(low, 0, char);
        this.idAt.splice(low, 0, id);
        this.rankOf.push(low);
        for (let rank = low + 1; rank < this.idAt.length; rank++) this.rankOf[this.idAt[rank]!] = rank;
      }
    }
    this.classOf.set(char, id);
    return id;
  }
}

/** Whether canonical ordering puts non-starter `a` before non-starter `b`: class(a) < class(b). */
function sortsBefore(a: string, b: string): boolean {
  return (b + a).normalize('NFD') === a + b;
}

function grow<T extends Uint16Array | Int32Array>(array: T): T {
  const grown = new (array.constructor as new (length: number) => T)(array.length * 2);
  grown.set(array);
  return grown;
}
