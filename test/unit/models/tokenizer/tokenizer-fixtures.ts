import { findFixtures, loadFixture, type FixtureKind, type TokenizerCase } from '../../../../tools/verify/fixture/fixture.js';
import { fixturesDir } from '../../../helpers/fixtures.js';
import { CLIPTokenizer } from '../../../../src/models/tokenizer/index.js';

export type { TokenizerCase };

/** A `tokenizer` fixture: its folder, its cases, and its files as text. */
export interface TokenizerFixture {
  name: string;
  dir: string;
  numCases: number;
  cases: TokenizerCase[];
  vocab: string;
  merges: string;
  config: string;
  specialTokensMap: string;
}

/** The fixture folders of the given kind, as the fixture reader (tools/verify) reads them. */
export async function fixtureDirsOfKind(kind: FixtureKind): Promise<string[]> {
  const dirs = (await findFixtures(fixturesDir())).filter((path) => !path.endsWith('.json'));
  const kinds = await Promise.all(dirs.map(async (dir) => (await loadFixture(dir)).kind));
  return dirs.filter((_, i) => kinds[i] === kind);
}

/** Every `tokenizer` fixture, read whole through the fixture reader. */
export async function tokenizerFixtures(): Promise<TokenizerFixture[]> {
  return Promise.all(
    (await fixtureDirsOfKind('tokenizer')).map(async (dir) => {
      const fx = await loadFixture(dir);
      if (fx.kind !== 'tokenizer') throw new Error(`${dir} is not a tokenizer fixture`);
      const read = (name: string): Promise<string> => fx.source.readText(name);
      return {
        name: dir.split(/[\\/]/).pop()!,
        dir,
        numCases: fx.numCases,
        cases: await fx.readCases(),
        vocab: await read('vocab.json'),
        merges: await read('merges.txt'),
        config: await read('tokenizer_config.json'),
        specialTokensMap: await read('special_tokens_map.json'),
      };
    }),
  );
}

/** The fixture's tokenizer as its own files configure it (SD 1.x padding). */
export function sd1Tokenizer(fixture: TokenizerFixture): CLIPTokenizer {
  return CLIPTokenizer.fromFiles({ vocab: fixture.vocab, merges: fixture.merges, config: fixture.config, specialTokensMap: fixture.specialTokensMap, location: fixture.name });
}

/** The same vocabulary with `pad_token` `!`, as SD 2.x and SD-Turbo repos configure it. */
export function sd2Tokenizer(fixture: TokenizerFixture): CLIPTokenizer {
  const map = { ...(JSON.parse(fixture.specialTokensMap) as object), pad_token: '!' };
  return CLIPTokenizer.fromFiles({ vocab: fixture.vocab, merges: fixture.merges, config: fixture.config, specialTokensMap: map, location: fixture.name });
}
