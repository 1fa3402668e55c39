import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parsePromptAttention, PromptWeightSyntaxError, type PromptPiece, type WeightedText } from '../../../../src/pipelines/prompt-weighting/parse-attention.js';
import { findFixtures } from '../../../../tools/verify/fixture/fixture.js';
import { fixtureKind } from '../../../helpers/fixture-kind.js';
import { fixturesDir } from '../../../helpers/fixtures.js';

interface Expectation {
  text: string;
  parsed: WeightedText[] | null;
}

// Every parse the prompt_weighting fixtures record: their parse_cases and each case's prompt and negative prompt.
const expectations: Expectation[] = [];
for (const path of await findFixtures(`${fixturesDir()}/community`)) {
  if ((await fixtureKind(path)) !== 'prompt_weighting') continue;
  const fixture = JSON.parse(await readFile(`${path}/fixture.json`, 'utf8')) as { cases_file: string };
  const cases = JSON.parse(await readFile(`${path}/${fixture.cases_file}`, 'utf8')) as {
    cases: { prompt: string; parsed: WeightedText[]; negative_prompt?: string | null; negative_parsed?: WeightedText[] }[];
    parse_cases: Expectation[];
  };
  expectations.push(...cases.parse_cases);
  for (const c of cases.cases) {
    expectations.push({ text: c.prompt, parsed: c.parsed });
    if (c.negative_prompt != null && c.negative_parsed) expectations.push({ text: c.negative_prompt, parsed: c.negative_parsed });
  }
}

describe('parsePromptAttention (lpw_stable_diffusion parse_prompt_attention)', () => {
  it('finds the fixtures\' parses, including one the reference refuses', () => {
    expect(expectations.length).toBeGreaterThan(0);
    expect(expectations.some((e) => e.parsed === null)).toBe(true);
  });

  it.each(expectations.filter((e) => e.parsed !== null))('$text', ({ text, parsed }) => {
    const got = parsePromptAttention(text);
    expect(got.map((p) => p[0])).toEqual(parsed!.map((p) => p[0]));
    got.forEach(([, w], i) => expect(Math.abs(w - parsed![i]![1])).toBeLessThanOrEqual(1e-12));
  });

  it.each(expectations.filter((e) => e.parsed === null))('refuses $text with PromptWeightSyntaxError', ({ text }) => {
    expect(() => parsePromptAttention(text)).toThrow(PromptWeightSyntaxError);
  });

  it('names the malformed weight of (word:1.2.3)', () => {
    expect(() => parsePromptAttention('(word:1.2.3)')).toThrow(expect.objectContaining({ name: 'PromptWeightSyntaxError', weight: '1.2.3' }));
  });

  it('gives an empty prompt one empty piece of weight 1', () => {
    expect(parsePromptAttention('')).toEqual([['', 1]]);
  });
});

describe("parsePromptAttention with A1111's BREAK", () => {
  it.each([
    ['a BREAK b', [['a', 1], 'BREAK', ['b', 1]]],
    ['a, BREAK', [['a,', 1], 'BREAK', ['', 1]]],
    ['(a BREAK b)', [['a', 1.1], 'BREAK', ['b', 1.1]]],
    ['(a:1.2) BREAK (b:1.2)', [['a', 1.2], ['', 1], 'BREAK', ['', 1], ['b', 1.2]]],
    ['breakfast, Break, BREAKS, xBREAK', [['breakfast, Break, BREAKS, xBREAK', 1]]],
    ['a\nBREAK\tb', [['a', 1], 'BREAK', ['b', 1]]],
  ] as Array<[string, PromptPiece[]]>)('%s', (text, expected) => {
    expect(parsePromptAttention(text, { breaks: true })).toEqual(expected);
  });

  it('is text to the reference parser', () => {
    expect(parsePromptAttention('a BREAK b')).toEqual([['a BREAK b', 1]]);
  });
});

