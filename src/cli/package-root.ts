import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OmniDiffusionError } from '../api/errors.js';

interface PackageJson {
  name?: string;
  version?: string;
}

let found: { root: string; version: string } | null = null;

/**
 * The omni-diffusion package: the nearest folder above this module whose package.json is ours.
 * Searching upwards finds it wherever the module runs from: `src/cli/` in a checkout (tests),
 * `dist/` after `npm run build`, or `node_modules/omni-diffusion/dist/` after an install.
 */
function locatePackage(): { root: string; version: string } {
  if (found) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
      if (pkg.name === 'omni-diffusion') {
        found = { root: dir, version: pkg.version ?? 'unknown' };
        return found;
      }
    } catch {
      // No package.json here (or not JSON): keep climbing.
    }
    const parent = dirname(dir);
    if (parent === dir) throw new OmniDiffusionError(`The omni-diffusion package.json was not found above ${fileURLToPath(import.meta.url)}.`);
    dir = parent;
  }
}

/** The package's root folder (where its package.json, `models/` and `dist/` are). */
export function packageRoot(): string {
  return locatePackage().root;
}

/** The package version, or `unknown` when it cannot be read. */
export function packageVersion(): string {
  try {
    return locatePackage().version;
  } catch {
    return 'unknown';
  }
}

/** The bundled default model: `models/tiny-shapes/` of the package (32x32, works offline). */
export function bundledModelPath(): string {
  return join(packageRoot(), 'models', 'tiny-shapes');
}
