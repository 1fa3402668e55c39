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

/**
 * Model features some fixtures exercise that are not implemented yet, by the config field that
 * asks for them. A component fixture that needs one must be refused with a `ModelConfigError`
 * naming the field (never a crash or a half-loaded model); every other fixture must pass. SDXL
 * (issue 21) brings the UNet's `text_time` embedding and CLIPTextModelWithProjection.
 */
const NOT_YET: ReadonlyArray<{ field: string; needs: (config: Record<string, unknown>) => boolean }> = [
  { field: 'addition_embed_type', needs: (c) => c.addition_embed_type === 'text_time' },
  { field: 'architectures', needs: (c) => Array.isArray(c.architectures) && c.architectures.includes('CLIPTextModelWithProjection') },
];

/** The config field of a feature `config` needs that is not implemented yet, or null. */
export function unsupportedFeature(config: Record<string, unknown>): string | null {
  return NOT_YET.find((f) => f.needs(config))?.field ?? null;
}
