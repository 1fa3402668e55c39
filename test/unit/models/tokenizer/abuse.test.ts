/**
 * Abuse suite (issue 17): prompts written to make the tokenizer work without bound. Each is
 * 1 MB (2^20 UTF-16 units) and must tokenize in well under a second, to the row the unbounded
 * `encode` (every word, then truncation) gives. The old code spent 317 s on a 1 MB single word
 * (quadratic BPE over the whole word before truncating) and 460 s on a 1 MB run of combining
 * marks (ICU's quadratic canonical ordering inside `normalize`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIPTokenizer, TokenizerInputError } from '../../../../src/models/tokenizer/index.js';
import { formatPeakRss, peakRss, resetPeakRss } from '../../../helpers/peak-rss.js';
import { sd1Tokenizer, tokenizerFixtures } from './tokenizer-fixtures.js';

const MB = 2 ** 20;
/**
 * Generous against the 5–200 ms these take. Asserted on the process's CPU time (each test file
 * runs in its own process), so that other work on a loaded machine does not fail them.
 */
const BOUND_MS = 1000;

/** `run()`, with its wall-clock and CPU milliseconds. */
function timed<T>(run: () => T): { value: T; wallMs: number; cpuMs: number } {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { value, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/** A deterministic pick from `items` (an LCG), so the prompts are the same on every run. */
function picker(seed: number): <T>(items: readonly T[]) => T {
  let state = seed;
  return (items) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return items[state % items.length]!;
  };
}

/** `length` UTF-16 units of `make()` pieces, the last one cut. */
function fill(length: number, make: () => string): string {
  const parts: string[] = [];
  let total = 0;
  while (total < length) {
    const part = make();
    parts.push(part);
    total += part.length;
  }
  return parts.join('').slice(0, length);
}

const LETTERS = [...'abcdefghijklmnopqrstuvwxyz'];
/** Marks from class 240 down to 1 (U+0345 240, U+0301 230, U+0316 220, U+031B 216, U+0327 202, U+0334 1). */
const MARKS_DESCENDING = ['\u0345', '\u0301', '\u0316', '\u031b', '\u0327', '\u0334'];

/**
 * A hostile prompt, the CPU time it may take, and what the old code took on it (measured with
 * `reference-tokenizer.ts`, the old code kept for reference; `> 35 s` ones were stopped there).
 * Prompts the old code got through in about half a second have a bound well below that.
 */
interface Hostile {
  make: () => string;
  boundMs: number;
  old: string;
}

const HOSTILE: Record<string, Hostile> = {
  'one letter repeated: a single 1 MB word': { make: () => 'a'.repeat(MB), boundMs: BOUND_MS, old: '317 s' },
  'random letters: a single 1 MB word': {
    make: () => {
      const pick = picker(1);
      return fill(MB, () => pick(LETTERS));
    },
    boundMs: BOUND_MS,
    old: '> 35 s',
  },
  'distinct random words, 190k of them': {
    make: () => {
      const pick = picker(2);
      return fill(MB, () => `${fill(3 + (LETTERS.indexOf(pick(LETTERS)) % 8), () => pick(LETTERS))} `);
    },
    boundMs: 100,
    old: '585 ms',
  },
  'punctuation: a single 1 MB run': {
    make: () => {
      const pick = picker(3);
      return fill(MB, () => pick([...'!"#$%()*+,-./:;<=>?@[]^_`{|}~']));
    },
    boundMs: BOUND_MS,
    old: '> 35 s',
  },
  'digits: a million one-digit words': {
    make: () => {
      const pick = picker(4);
      return fill(MB, () => pick([...'0123456789']));
    },
    boundMs: 150,
    old: '569 ms',
  },
  'emoji: a single run of 4-byte characters': {
    make: () => {
      const pick = picker(5);
      return fill(MB, () => String.fromCodePoint(0x1f600 + LETTERS.indexOf(pick(LETTERS))));
    },
    boundMs: BOUND_MS,
    old: '> 35 s',
  },
  'CJK: a single letter run of 3-byte characters': {
    make: () => {
      const pick = picker(6);
      return fill(MB, () => String.fromCodePoint(0x4e00 + 97 * LETTERS.indexOf(pick(LETTERS))));
    },
    boundMs: BOUND_MS,
    old: '> 35 s',
  },
  'mixed scripts, final sigmas, emoji and entities': {
    make: () => {
      const pick = picker(7);
      return fill(MB, () => pick(['café ', 'ΟΔΥΣΣΕΥΣ ', 'Москва ', '東京 ', '😂🎉 ', 'e&#769; ', '&amp;lt;3 ', 'İstanbul ', "it's ", '<|endoftext|> ']));
    },
    boundMs: 100,
    old: '753 ms',
  },
  'combining marks in descending class after one letter (NFC is quadratic on them)': {
    make: () => `x${MARKS_DESCENDING.map((mark) => mark.repeat(Math.ceil(MB / MARKS_DESCENDING.length))).join('')}`.slice(0, MB),
    boundMs: BOUND_MS,
    old: '> 35 s',
  },
  'zalgo words: every letter under 30 marks': {
    make: () => {
      const pick = picker(8);
      return fill(MB, () => `${fill(5 * 31, () => pick(LETTERS) + fill(30, () => pick(MARKS_DESCENDING)))} `);
    },
    boundMs: 100,
    old: '472 ms',
  },
  'numeric references to combining marks (the second NFC, after unescaping)': {
    make: () => `x${'&#837;&#769;&#790;&#820;'.repeat(MB / 24)}`,
    boundMs: BOUND_MS,
    old: '> 35 s',
  },
};

describe.each((await tokenizerFixtures()).map((f) => [f.name, f] as const))('tokenizer abuse on fixture %s', (_name, fixture) => {
  let tokenizer: CLIPTokenizer;
  beforeAll(() => {
    tokenizer = sd1Tokenizer(fixture);
    tokenizer.call('warm up the regular expressions and the word cache');
  });

  /** The row of the old semantics: every word encoded, then the first 75 ids kept. */
  const truncatedRow = (text: string): number[] => {
    const ids = tokenizer.encode(text).slice(0, 75);
    return [tokenizer.bosTokenId, ...ids, tokenizer.eosTokenId, ...new Array<number>(75 - ids.length).fill(tokenizer.padTokenId)];
  };

  it.each(Object.entries(HOSTILE).map(([name, hostile]) => [name, hostile.old, hostile.boundMs, hostile] as const))(
    "1 MB prompt, %s (old code: %s): under %i ms of CPU, to the full encoding's first 75 ids",
    (name, _old, boundMs, { make }) => {
      const text = make();
      expect(text.length).toBeGreaterThan(MB - 16);
      const { value: row, wallMs, cpuMs } = timed(() => tokenizer.call(text));
      console.log(`${name}: ${wallMs.toFixed(1)} ms (${cpuMs.toFixed(0)} ms CPU)`);
      expect(cpuMs).toBeLessThan(boundMs);
      expect(Array.from(row)).toEqual(truncatedRow(text));
    },
    60_000,
  );

  it(`refuses a 1 MB prompt with truncation off in under ${BOUND_MS} ms, naming the limit`, () => {
    const { value: error, cpuMs } = timed(() => {
      try {
        tokenizer.call('a'.repeat(MB), { truncation: false });
      } catch (err) {
        return err;
      }
      return null;
    });
    expect(error).toBeInstanceOf(TokenizerInputError);
    expect((error as Error).message).toMatch(/more than the 75 tokens that fit in 77; shorten it/);
    expect(cpuMs).toBeLessThan(BOUND_MS);
  });

  it(`tokenizes a batch of all ${Object.keys(HOSTILE).length} prompts within 256 MiB of peak RSS`, () => {
    const texts = Object.values(HOSTILE).map(({ make }) => make());
    const before = process.memoryUsage().rss;
    resetPeakRss();
    const { value: rows, wallMs, cpuMs } = timed(() => tokenizer.call(texts));
    const peak = peakRss();
    const growth = peak.bytes - before;
    console.log(`batch of ${texts.length} 1 MB prompts: ${wallMs.toFixed(0)} ms (${cpuMs.toFixed(0)} ms CPU), peak RSS ${formatPeakRss(peak)}, ${(growth / 2 ** 20).toFixed(0)} MiB above the start`);
    expect(rows.length).toBe(texts.length * 77);
    expect(cpuMs).toBeLessThan(texts.length * BOUND_MS);
    // Only meaningful where the peak can be reset; else it is the process's, from before.
    if (peak.sinceReset) expect(growth).toBeLessThan(256 * 2 ** 20);
  }, 60_000);
});
