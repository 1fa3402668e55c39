import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/fixtures.js';

/**
 * The single-file element bundle runs in browsers without a bundler: a static `node:` import in
 * it (a Node-only module inlined at the top) stops the whole file from loading. The Node-only
 * paths import their built-ins inside functions, which the browser never calls.
 */
describe('dist/omni-diffusion.element.js', () => {
  it('has no static import at all (dependencies inlined, Node built-ins only imported dynamically)', () => {
    const file = join(repoRoot, 'dist', 'omni-diffusion.element.js');
    expect(existsSync(file), `${file} is missing: run npm run build`).toBe(true);
    const staticImports = readFileSync(file, 'utf8').match(/^import\s[^;]*;/gm) ?? [];
    expect(staticImports).toEqual([]);
  });
});
