import { describe, expect, test } from 'vitest';
import { ShaderPreprocessError } from '../../../src/webgpu/errors.js';
import { preprocess } from '../../../src/webgpu/preprocess.js';

const src = ['a', '#if F16', 'b', '#elif PACKED', 'c', '#else', 'd', '#endif', 'e'].join('\n');

const kept = (out: string) => out.split('\n').filter((l) => l);

describe('preprocess', () => {
  test.each([
    [{ F16: true }, ['a', 'b', 'e']],
    [{ PACKED: true }, ['a', 'c', 'e']],
    [{ F16: true, PACKED: true }, ['a', 'b', 'e']],
    [{}, ['a', 'd', 'e']],
  ])('picks the first true branch of #if/#elif/#else for %o', (defines, want) => {
    expect(kept(preprocess(src, defines))).toEqual(want);
  });

  test('keeps line numbers by blanking dropped lines', () => {
    expect(preprocess(src, {}).split('\n')).toHaveLength(9);
  });

  test('negation and nesting: an inner branch is dropped when its parent is', () => {
    const nested = ['#if !A', 'x', '#if B', 'y', '#endif', '#else', '#if B', 'z', '#endif', '#endif'].join('\n');
    expect(kept(preprocess(nested, { B: true }))).toEqual(['x', 'y']);
    expect(kept(preprocess(nested, { A: true, B: true }))).toEqual(['z']);
    expect(kept(preprocess(nested, { A: true }))).toEqual([]);
  });

  test.each([
    ['#if A\nx', /#if without #endif/],
    ['#endif', /#endif without #if/],
    ['#define A 1', /unknown directive "#define A 1"/],
    ['#if\n#endif', /#if needs a flag name/],
  ])('rejects %j, naming the problem', (text, message) => {
    expect(() => preprocess(text, {}, 'x.wgsl')).toThrow(ShaderPreprocessError);
    expect(() => preprocess(text, {}, 'x.wgsl')).toThrow(message);
  });
});
