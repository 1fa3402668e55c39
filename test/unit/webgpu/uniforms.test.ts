import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ShaderPreprocessError, TensorShapeError } from '../../../src/webgpu/errors.js';
import { defineKernel } from '../../../src/webgpu/kernel.js';
import { packUniforms, reflectUniforms } from '../../../src/webgpu/uniforms.js';

const SHADERS = new URL('../../../shaders/', import.meta.url);

describe('reflectUniforms', () => {
  test('lays fields out by WGSL rules: vec2 aligns to 8, vec3 and vec4 to 16, the struct rounds up to 16', () => {
    const layout = reflectUniforms(
      `struct P {
        n: u32, // a comment, with a comma
        /* block */ v2: vec2<f32>,
        k: i32,
        v3: vec3u,
        s: f32,
      }
      @group(0) @binding(0) var<uniform> p: P;
      fn main() { let x = p.n; }`,
      'main',
    );
    expect(layout.struct).toBe('P');
    expect(layout.fields.map((f) => [f.name, f.scalar, f.components, f.offset])).toEqual([
      ['n', 'u32', 1, 0],
      ['v2', 'f32', 2, 8],
      ['k', 'i32', 1, 16],
      ['v3', 'u32', 3, 32],
      ['s', 'f32', 1, 44],
    ]);
    expect(layout.byteSize).toBe(48);
  });

  test('a family file that aliases several structs at binding 0 gives each entry point the one it reaches, through helper functions too', () => {
    const src = `
      struct A { n: u32, m: u32 }
      struct B { n: u32, s: f32, t: f32 }
      @group(0) @binding(0) var<uniform> a: A;
      @group(0) @binding(0) var<uniform> b: B;
      fn count() -> u32 { return b.n; }
      fn first() { let x = a.m; }
      fn second() { let x = count(); }
      fn neither() { let x = 1u; }`;
    expect(reflectUniforms(src, 'first').struct).toBe('A');
    expect(reflectUniforms(src, 'second').fields.map((f) => f.name)).toEqual(['n', 's', 't']);
    expect(reflectUniforms(src, 'neither')).toEqual({ struct: null, fields: [], byteSize: 16 });
  });

  test('refuses types it cannot lay out and an entry point that reads two structs', () => {
    expect(() => reflectUniforms('struct P { m: mat2x2<f32> } var<uniform> p: P; fn main() { p; }', 'main')).toThrow(ShaderPreprocessError);
    expect(() => reflectUniforms('struct P { h: f16 } var<uniform> p: P; fn main() { p; }', 'main')).toThrow(/h: f16/);
    expect(() => reflectUniforms('struct P { n: u32 } struct Q { n: u32 } var<uniform> p: P; var<uniform> q: Q; fn main() { p; q; }', 'main')).toThrow(/2 uniform variables/);
  });

  test('every entry point of the library shaders reflects its uniform struct', () => {
    const files = readdirSync(SHADERS).filter((f) => f.endsWith('.wgsl') && f !== 'prelude.wgsl');
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const source = readFileSync(new URL(file, SHADERS), 'utf8');
      const entryPoints = [...source.matchAll(/@compute[^\n]*\n\s*fn\s+(\w+)/g)].map((m) => m[1]!);
      expect(entryPoints.length, file).toBeGreaterThan(0);
      for (const entryPoint of entryPoints) {
        const layout = reflectUniforms(source, entryPoint, file);
        expect(layout.struct, `${file} ${entryPoint}`).not.toBeNull();
        expect(layout.fields.length, `${file} ${entryPoint}`).toBeGreaterThan(0);
      }
    }
  });

  test('entry points of a family that aliases structs get their own: scale_shift and upsample read theirs, the others the shared one', () => {
    const struct = (file: string, entryPoint: string) => reflectUniforms(readFileSync(new URL(file, SHADERS), 'utf8'), entryPoint, file).struct;
    expect(['binary', 'unary', 'geglu'].map((e) => struct('elementwise.wgsl', e))).toEqual(['Uniforms', 'Uniforms', 'Uniforms']);
    expect(struct('elementwise.wgsl', 'scale_shift')).toBe('ScaleUniforms');
    expect(struct('layout.wgsl', 'upsample_nearest')).toBe('UpsampleUniforms');
    expect(['concat_channels', 'transpose', 'gather_rows'].map((e) => struct('layout.wgsl', e))).toEqual(['Uniforms', 'Uniforms', 'Uniforms']);
  });
});

describe('packUniforms', () => {
  const layout = reflectUniforms('struct U { n: u32, s: f32, k: i32, v: vec2<u32> } var<uniform> u: U; fn main() { u; }', 'main');

  test('writes each field at its offset, whatever the order of the keys', () => {
    const view = new DataView(packUniforms(layout, { v: [5, 6], k: -3, s: 0.5, n: 7 }));
    expect(view.byteLength).toBe(32);
    expect([view.getUint32(0, true), view.getFloat32(4, true), view.getInt32(8, true), view.getUint32(16, true), view.getUint32(20, true)]).toEqual([7, 0.5, -3, 5, 6]);
  });

  test('names the field that is missing, unknown, of the wrong arity or out of range', () => {
    const full = { n: 1, s: 0, k: 0, v: [0, 0] };
    expect(() => packUniforms(layout, { s: 0, k: 0, v: [0, 0] }, 'k.main')).toThrow(/k\.main: uniform "n" \(U\) is missing/);
    expect(() => packUniforms(layout, { ...full, count: 1 })).toThrow(/"count" is not a field of U; fields: n, s, k, v/);
    expect(() => packUniforms(layout, { ...full, v: [1] })).toThrow(/"v" needs 2 numbers/);
    expect(() => packUniforms(layout, { ...full, n: [1] })).toThrow(/"n" needs a number/);
    expect(() => packUniforms(layout, { ...full, n: -1 })).toThrow(TensorShapeError);
    expect(() => packUniforms(layout, { ...full, k: 2 ** 31 })).toThrow(/not a i32/);
    expect(() => packUniforms(layout, { ...full, n: 1.5 })).toThrow(/not a u32/);
  });

  test('a kernel that reads no uniforms packs 16 zero bytes and takes none', () => {
    const k = defineKernel({ family: 't', entryPoint: 'main', source: '@compute @workgroup_size(1) fn main() {}', storage: [] });
    expect(new Uint8Array(packUniforms(k.uniforms, {}))).toEqual(new Uint8Array(16));
    expect(() => packUniforms(k.uniforms, { n: 1 })).toThrow(/not a field of its \(absent\) uniform struct/);
  });
});
