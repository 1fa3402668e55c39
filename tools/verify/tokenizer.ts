import type { TokenizerFixture } from './fixture/fixture.js';
import { CLIPTokenizer } from '../../src/models/tokenizer/clip-tokenizer.js';
import type { CompareResult } from './compare.js';

/** How many ids differ between two id lists (a length difference counts as differences). */
function mismatches(actual: ArrayLike<number>, expected: readonly number[]): number {
  let n = Math.abs(actual.length - expected.length);
  for (let i = 0; i < Math.min(actual.length, expected.length); i++) if (actual[i] !== expected[i]) n++;
  return n;
}

/**
 * Runs a `tokenizer` fixture: every case's BPE ids, and its 77-id rows padded the SD 1.x way
 * (`<|endoftext|>`) and the SD 2.x way (`!`). Exact match is required; `maxAbs` reports the
 * number of cases with any wrong id.
 */
export async function runTokenizerFixture(fx: TokenizerFixture): Promise<CompareResult[]> {
  const [vocab, merges, config] = await Promise.all([
    fx.source.readText('vocab.json'),
    fx.source.readText('merges.txt'),
    fx.source.readText('tokenizer_config.json').catch(() => '{}'),
  ]);
  const base = JSON.parse(config) as Record<string, unknown>;
  const make = (padToken: string): CLIPTokenizer =>
    CLIPTokenizer.fromFiles({ vocab, merges, config: { ...base, pad_token: padToken }, location: fx.source.id });
  const sd1 = make('<|endoftext|>');
  const sd2 = make('!');
  const cases = await fx.readCases();
  const bad = { ids: 0, sd1: 0, sd2: 0 };
  for (const c of cases) {
    if (mismatches(sd1.encode(c.prompt), c.ids) > 0) bad.ids++;
    if (mismatches(sd1.call([c.prompt]), c.inputIdsSd1) > 0) bad.sd1++;
    if (mismatches(sd2.call([c.prompt]), c.inputIdsSd2) > 0) bad.sd2++;
  }
  const exact = { maxAbs: 0, maxRelL2: 0 };
  return (['ids', 'sd1', 'sd2'] as const).map((k) => ({
    name: `${k === 'ids' ? 'ids' : `input_ids_${k}`} (${cases.length} cases, ${bad[k]} wrong)`,
    maxAbs: bad[k],
    relL2: bad[k] / Math.max(1, cases.length),
    tolerance: exact,
    pass: bad[k] === 0,
  }));
}
