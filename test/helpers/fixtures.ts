import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file lives in test/helpers/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The shared golden fixtures: `$OMNI_FIXTURES`, else `../shared/fixtures` beside the checkout
 * (where CI lays them out). Tests read them in place and never copy them.
 */
export function fixturesDir(): string {
  const dir = process.env.OMNI_FIXTURES ?? resolve(repoRoot, '../shared/fixtures');
  if (!existsSync(dir)) throw new Error(`Golden fixtures not found at ${dir}; set OMNI_FIXTURES to their folder.`);
  return dir;
}

/** Path of one fixture entry. */
export function fixturePath(...parts: string[]): string {
  return resolve(fixturesDir(), ...parts);
}
