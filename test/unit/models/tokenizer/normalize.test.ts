import { describe, expect, it } from 'vitest';
import { normalizeNfc } from '../../../../src/models/tokenizer/normalize.js';

/** Every mark (`\p{M}`): the characters whose order canonical ordering may change. */
const MARKS = (() => {
  const marks: string[] = [];
  for (let code = 0x300; code <= 0x10ffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue;
    const char = String.fromCodePoint(code);
    if (/\p{M}/u.test(char)) marks.push(char);
  }
  return marks;
})();

/**
 * Characters next to which marks behave differently: precomposed letters that decompose to
 * marks, Hangul jamo and syllables (algorithmic composition), the class-0 Tibetan signs that
 * decompose to marks, letters marks compose with, an astral starter, a lone surrogate.
 */
const STARTERS = ['a', 'u', 'ǘ', 'ṩ', 'Σ', 'ά', '\u0f73', '\u0f40', '\u1100', '\u1161', '\u11a8', '가', '\u0915', '\u05d0', 'x', ' ', '\u{1d15e}', '\ud800'];

function picker(seed: number): <T>(items: readonly T[]) => T {
  let state = seed;
  return (items) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return items[state % items.length]!;
  };
}

describe('normalizeNfc', () => {
  it('finds every mark (Unicode has over 2000)', () => {
    expect(MARKS.length).toBeGreaterThan(2000);
  });

  it('equals String.prototype.normalize after each starter, for every mark alone and in long runs with U+0345', () => {
    for (const starter of STARTERS) {
      for (const mark of MARKS) {
        for (const text of [starter + mark, starter + mark.repeat(40) + '\u0345'.repeat(40), starter + '\u0345'.repeat(40) + mark.repeat(40) + starter]) {
          expect(normalizeNfc(text), JSON.stringify(text)).toBe(text.normalize('NFC'));
        }
      }
    }
  }, 60_000);

  it('equals String.prototype.normalize on 2000 random texts of marks with a few starters, up to 800 long', () => {
    const pick = picker(1);
    const lengths = Array.from({ length: 800 }, (_, i) => i + 1);
    for (let trial = 0; trial < 2000; trial++) {
      const pool = trial % 2 === 0 ? MARKS : MARKS.slice(0, 112);
      let text = '';
      for (let i = pick(lengths); i > 0; i--) text += pick(lengths) <= 8 ? pick(STARTERS) : pick(pool);
      expect(normalizeNfc(text), `trial ${trial}: ${JSON.stringify(text)}`).toBe(text.normalize('NFC'));
    }
  }, 60_000);

  it('equals String.prototype.normalize on a run of 6000 marks in descending class after a precomposed letter', () => {
    const run = ['\u0345', '\u0301', '\u0316', '\u031b', '\u0327', '\u0334'].map((mark) => mark.repeat(1000)).join('');
    for (const text of [`ǘ${run}`, run, `${run}x${run}`]) expect(normalizeNfc(text)).toBe(text.normalize('NFC'));
  });

  it('returns text without long runs of marks as normalize does, unchanged where it is already NFC', () => {
    for (const text of ['', 'a photo of a cat', 'cafe\u0301', 'café', 'ΟΔΥΣΣΕΥΣ', '東京😂', 'e\u0301\u0316\u0345', '\ud800x\udc00']) {
      expect(normalizeNfc(text)).toBe(text.normalize('NFC'));
    }
  });

  it('normalizes a 1 MB run of marks in descending class in under a second of CPU (ICU alone: minutes)', () => {
    const text = `x${['\u0345', '\u0301', '\u0316', '\u031b', '\u0327', '\u0334'].map((mark) => mark.repeat(2 ** 20 / 6)).join('')}`;
    const cpu = process.cpuUsage();
    const out = normalizeNfc(text);
    const used = process.cpuUsage(cpu);
    const ms = (used.user + used.system) / 1000;
    console.log(`1 MB run of marks: ${ms.toFixed(0)} ms CPU`);
    expect(ms).toBeLessThan(1000);
    // Canonical order puts the class-1 marks first and U+0345 (class 240) last; x composes with none of them.
    expect(out.startsWith(`x${'\u0334'.repeat(10)}`)).toBe(true);
    expect(out.endsWith('\u0345'.repeat(10))).toBe(true);
    expect(out.length).toBe(text.length);
  });
});
