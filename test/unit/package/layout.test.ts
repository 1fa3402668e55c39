import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/fixtures.js';

/**
 * The folders are the architecture (README, "Layout"); these checks keep the cuts that matter
 * from eroding: the API imports no GPU code, and each kernel binding pairs with its WGSL.
 */

const src = join(repoRoot, 'src');
const VALUE_IMPORT = /^(?:import|export)\s+(?!type\b)(?:[^'";]*?\s+from\s+)?'(\.[^']+)'/gm;

/** The source files `entries` load at run time (type-only imports and re-exports skipped). */
function valueClosure(entries: string[]): string[] {
  const seen = new Set<string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(VALUE_IMPORT)) {
      const target = resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'));
      if (existsSync(target)) stack.push(target);
    }
  }
  return [...seen].map((f) => relative(src, f).split('\\').join('/')).sort();
}

describe('source layout', () => {
  it('src/api loads no GPU runtime, kernels, models, pipelines or engine hosts', () => {
    const api = readdirSync(join(src, 'api')).filter((f) => f.endsWith('.ts')).map((f) => join(src, 'api', f));
    const closure = valueClosure(api);
    expect(closure).toContain('api/engine.ts');
    expect(closure.filter((f) => /^(webgpu|models|pipelines|host|schedulers|plan)\//.test(f))).toEqual([]);
  });

  it('every WGSL file in shaders/ is bound by the kernel of the same name in src/webgpu/kernels/, and only by it', () => {
    const shaders = join(repoRoot, 'shaders');
    const kernels = join(src, 'webgpu', 'kernels');
    const families = readdirSync(shaders).filter((f) => f.endsWith('.wgsl') && f !== 'prelude.wgsl').map((f) => f.slice(0, -'.wgsl'.length));
    expect(families.length).toBeGreaterThan(5);
    const bindings = new Map<string, string[]>();
    for (const file of readdirSync(kernels).filter((f) => f.endsWith('.ts'))) {
      const imported = [...readFileSync(join(kernels, file), 'utf8').matchAll(/from '\.\.\/\.\.\/\.\.\/shaders\/([\w-]+)\.wgsl\?raw'/g)].map((m) => m[1]!);
      for (const family of imported) bindings.set(family, [...(bindings.get(family) ?? []), file]);
    }
    expect(Object.fromEntries(families.map((f) => [f, bindings.get(f)]))).toEqual(Object.fromEntries(families.map((f) => [f, [`${f}.ts`]])));
    expect([...bindings.keys()].filter((f) => !families.includes(f))).toEqual([]);
  });
});
