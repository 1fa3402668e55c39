import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../../../helpers/fixtures.js';
import { CLIPTokenizer } from '../../../../src/models/tokenizer/index.js';

/** One case of a `tokenizer` fixture's `cases_file`. */
export interface TokenizerCase {
  prompt: string;
  ids: number[];
  input_ids_sd1: number[];
  input_ids_sd2: number[];
}

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

/** The fixtures whose `fixture.json` has `kind` of the given value, by folder name. */
export function fixtureDirsOfKind(kind: string): string[] {
  const root = fixturesDir();
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'fixture.json')))
    .filter((entry) => (JSON.parse(readFileSync(join(root, entry.name, 'fixture.json'), 'utf8')) as { kind?: unknown }).kind === kind)
    .map((entry) => join(root, entry.name));
}

/** Every `tokenizer` fixture, read whole. */
export function tokenizerFixtures(): TokenizerFixture[] {
  return fixtureDirsOfKind('tokenizer').map((dir) => {
    const meta = JSON.parse(readFileSync(join(dir, 'fixture.json'), 'utf8')) as { cases_file: string; num_cases: number };
    const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
    return {
      name: dir.split(/[\\/]/).pop()!,
      dir,
      numCases: meta.num_cases,
      cases: (JSON.parse(read(meta.cases_file)) as { cases: TokenizerCase[] }).cases,
      vocab: read('vocab.json'),
      merges: read('merges.txt'),
      config: read('tokenizer_config.json'),
      specialTokensMap: read('special_tokens_map.json'),
    };
  });
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
