import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseLenientJson } from '../../src/io/json.js';
import { findFixtures, loadFixture, type Fixture } from '../../tools/verify/fixture/fixture.js';
import { fixturesDir } from './fixtures.js';

/**
 * The `kind` a fixture declares (a fixture folder, or a case file as `findFixtures` lists them),
 * read without loading the fixture: a suite picks its own kind before `loadFixture` parses the
 * rest, so a fixture of a kind another suite owns never fails it. Null when there is none.
 */
export async function fixtureKind(path: string): Promise<string | null> {
  const file = path.endsWith('.json') ? path : `${path}/fixture.json`;
  const json = parseLenientJson(await readFile(file, 'utf8'), file);
  const kind = json !== null && typeof json === 'object' && !Array.isArray(json) ? json.kind : undefined;
  return typeof kind === 'string' ? kind : null;
}

/**
 * Every fixture of `kind` under the shared fixtures and their `community/` folder, loaded, with its
 * folder name: found by the `kind` each declares (never by directory name), the others left unread.
 */
export async function fixturesOfKind<K extends Fixture['kind']>(kind: K): Promise<Array<{ name: string; path: string; fx: Extract<Fixture, { kind: K }> }>> {
  const community = join(fixturesDir(), 'community');
  const paths = [...(await findFixtures(fixturesDir())), ...(existsSync(community) ? await findFixtures(community) : [])];
  const found: Array<{ name: string; path: string; fx: Extract<Fixture, { kind: K }> }> = [];
  for (const path of paths) {
    if ((await fixtureKind(path)) !== kind) continue;
    found.push({ name: basename(path), path, fx: (await loadFixture(path)) as Extract<Fixture, { kind: K }> });
  }
  return found;
}
