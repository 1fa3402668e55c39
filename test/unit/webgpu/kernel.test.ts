import { describe, expect, test } from 'vitest';
import { defineKernel, foldWorkgroups, kernelSource, specialisationKey } from '../../../src/webgpu/kernel.js';

describe('foldWorkgroups', () => {
  test.each([
    [1, 65535],
    [65535, 65535],
    [65536, 65535],
    [70_003, 65535],
    [300, 7],
    [343, 7],
    [50, 7],
  ])('%i workgroups under a limit of %i: every dimension within it, enough workgroups, little overshoot', (count, max) => {
    const grid = foldWorkgroups(count, max);
    const total = grid[0] * grid[1] * grid[2];
    expect(grid.every((d) => d >= 1 && d <= max)).toBe(true);
    expect(total).toBeGreaterThanOrEqual(count);
    expect(total - count).toBeLessThan(grid[0] * grid[1]);
  });

  test('refuses more than max³ workgroups', () => {
    expect(() => foldWorkgroups(344, 7)).toThrow(/344 workgroups/);
  });
});

test('the specialisation key depends only on true flags and constants, in any order', () => {
  expect(specialisationKey({ B: true, A: true, C: false }, { WG: 64, OP: 1 })).toBe(specialisationKey({ A: true, B: true }, { OP: 1, WG: 64 }));
  expect(specialisationKey({ A: true }, { WG: 64 })).not.toBe(specialisationKey({ A: true }, { WG: 128 }));
});

test('kernel source gets `enable f16;` first and the prelude only with SHADER_F16 as given', () => {
  const k = defineKernel({ family: 't', entryPoint: 'main', source: '#if SHADER_F16\nalias T = f16;\n#else\nalias T = f32;\n#endif', storage: [] });
  const withF16 = kernelSource(k, { SHADER_F16: true });
  expect(withF16.startsWith('enable f16;\n')).toBe(true);
  expect(withF16).toContain('alias T = f16;');
  expect(withF16).toContain('fn linear_workgroup_index');
  const without = kernelSource(k, {});
  expect(without).not.toMatch(/^enable f16;/m);
  expect(without).toContain('alias T = f32;');
});
