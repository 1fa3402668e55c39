import { describe, expect, it } from 'vitest';
import { numberedPaths } from '../../../src/cli/output-paths.js';

describe('numberedPaths', () => {
  it('keeps the path for one image and numbers it before the extension for several', () => {
    expect(numberedPaths('out.png', 1)).toEqual(['out.png']);
    expect(numberedPaths('out.png', 3)).toEqual(['out-1.png', 'out-2.png', 'out-3.png']);
    expect(numberedPaths('/tmp/a.b/cat.png', 2)).toEqual(['/tmp/a.b/cat-1.png', '/tmp/a.b/cat-2.png']);
    expect(numberedPaths('images/cat', 2)).toEqual(['images/cat-1', 'images/cat-2']);
  });
});
