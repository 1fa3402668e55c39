import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/fixtures.js';

const dist = join(repoRoot, 'dist');

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/**
 * Strings only the golden-fixture readers and runners hold (tools/verify, test/helpers): the
 * fields of `fixture.json` and scheduler case files, and the runners' entry points. Field names
 * are string literals, so a bundler cannot rename them away.
 */
const TEST_CODE_MARKERS = [
  'fixture.json',
  'components_also_fixtures',
  'io_pairs',
  'cases_file',
  'tolerance_fp16',
  'pad_token_id_used',
  'loadFixture',
  'runSchedulerCase',
  'runComponentFixture',
  'judgeShapesImage',
];

describe('the built package', () => {
  it('ships no fixture reader or other test code in dist/', () => {
    expect(existsSync(join(dist, 'index.js')), 'dist/ is missing or incomplete: run `npm run build` first').toBe(true);
    const found: string[] = [];
    for (const file of filesUnder(dist).filter((f) => /\.(js|d\.ts)$/.test(f))) {
      const text = readFileSync(file, 'utf8');
      for (const marker of TEST_CODE_MARKERS) if (text.includes(marker)) found.push(`${relative(repoRoot, file)}: ${marker}`);
    }
    expect(found).toEqual([]);
  });
});
