import { ShaderPreprocessError, TensorShapeError } from './errors.js';

/** A WGSL scalar a uniform field may hold. */
export type UniformScalar = 'u32' | 'i32' | 'f32';

/** One field of a kernel's uniform struct, laid out by WGSL's rules for the uniform address space. */
export interface UniformField {
  readonly name: string;
  readonly scalar: UniformScalar;
  /** 1 for a scalar, 2..4 for a vector. */
  readonly components: number;
  /** Byte offset in the struct. */
  readonly offset: number;
}

/** The uniform struct an entry point reads at binding 0, reflected from its WGSL. */
export interface UniformLayout {
  /** The struct's name; null for an entry point that reads no uniforms. */
  readonly struct: string | null;
  readonly fields: readonly UniformField[];
  /** Bytes the packed struct takes: its WGSL size, at least 16 and a multiple of 16. */
  readonly byteSize: number;
}

/**
 * Uniform values by field name: a number for a scalar field, an array for a vector field. Every
 * field of the struct must be given, and nothing else: the names are the WGSL's, so a field
 * renamed or reordered in the shader can never be fed the wrong value.
 */
export type UniformValues = Readonly<Record<string, number | readonly number[]>>;

const SCALARS: Readonly<Record<string, readonly [UniformScalar, number]>> = {
  u32: ['u32', 1],
  i32: ['i32', 1],
  f32: ['f32', 1],
};

/** `u32`, `vec3<f32>`, `vec3f` → scalar and component count; null for any other type. */
function fieldType(type: string): readonly [UniformScalar, number] | null {
  const scalar = SCALARS[type];
  if (scalar) return scalar;
  const m = /^vec([234])(?:<(u32|i32|f32)>|([uif]))$/.exec(type);
  if (!m) return null;
  const s = m[2] ?? ({ u: 'u32', i: 'i32', f: 'f32' } as const)[m[3] as 'u' | 'i' | 'f'];
  return [s as UniformScalar, Number(m[1])];
}

/** WGSL alignment of a scalar or vector of 4-byte components (vec3 aligns like vec4). */
const alignOf = (components: number): number => (components === 1 ? 4 : components === 2 ? 8 : 16);

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');
}

/** Every `fn name(...) { body }` of the source; a function declared in several `#if` branches keeps all its bodies. */
function functionBodies(source: string): Map<string, string> {
  const bodies = new Map<string, string>();
  const head = /\bfn\s+([A-Za-z_]\w*)\s*\(/g;
  for (let m = head.exec(source); m; m = head.exec(source)) {
    const open = source.indexOf('{', m.index);
    if (open < 0) break;
    let depth = 0;
    let end = open;
    for (; end < source.length; end++) {
      if (source[end] === '{') depth++;
      else if (source[end] === '}' && --depth === 0) break;
    }
    bodies.set(m[1]!, (bodies.get(m[1]!) ?? '') + source.slice(open, end + 1));
  }
  return bodies;
}

/** The identifiers `entryPoint` reaches: its body and, transitively, those of the functions it calls. */
function reachedIdentifiers(bodies: Map<string, string>, entryPoint: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entryPoint];
  while (todo.length) {
    const body = bodies.get(todo.pop()!);
    if (body === undefined) continue;
    // Not after a word character (the `u` of `1u`) or a dot (a member, not a variable).
    for (const [id] of body.matchAll(/(?<![\w.])[A-Za-z_]\w*/g)) {
      if (seen.has(id)) continue;
      seen.add(id);
      if (bodies.has(id)) todo.push(id);
    }
  }
  return seen;
}

function structFields(source: string, struct: string, where: string): UniformField[] {
  const m = new RegExp(`\\bstruct\\s+${struct}\\s*\\{([^}]*)\\}`).exec(source);
  if (!m) throw new ShaderPreprocessError(`${where}: uniform struct ${struct} is not declared in the kernel's source`);
  if (/^\s*#/m.test(m[1]!)) throw new ShaderPreprocessError(`${where}: uniform struct ${struct} has #if lines; its layout must not depend on defines`);
  const fields: UniformField[] = [];
  let end = 0;
  for (const decl of m[1]!.split(',').map((d) => d.trim()).filter(Boolean)) {
    const f = /^([A-Za-z_]\w*)\s*:\s*([\w<>]+)$/.exec(decl.replace(/\s+/g, ' ').replace(/\s*([<>])\s*/g, '$1'));
    const type = f && fieldType(f[2]!);
    if (!f || !type) throw new ShaderPreprocessError(`${where}: uniform field "${decl}" of ${struct} is not a u32, i32 or f32 scalar or vector`);
    const offset = roundUp(end, alignOf(type[1]));
    fields.push({ name: f[1]!, scalar: type[0], components: type[1], offset });
    end = offset + 4 * type[1];
  }
  return fields;
}

/**
 * Reflects the uniform struct `entryPoint` reads from its WGSL source: the `var<uniform>` it
 * reaches (directly or through the functions it calls; a family file may alias several structs
 * at binding 0, one per entry point) and that struct's fields with their WGSL offsets.
 */
export function reflectUniforms(source: string, entryPoint: string, family = 'kernel'): UniformLayout {
  const where = `${family}.${entryPoint}`;
  const code = stripComments(source);
  const vars = new Map<string, string>();
  for (const [, name, type] of code.matchAll(/var\s*<\s*uniform\s*>\s*([A-Za-z_]\w*)\s*:\s*([A-Za-z_]\w*)/g)) vars.set(name!, type!);
  const reached = reachedIdentifiers(functionBodies(code), entryPoint);
  const used = [...vars].filter(([name]) => reached.has(name));
  if (used.length > 1) throw new ShaderPreprocessError(`${where}: reads ${used.length} uniform variables (${used.map(([n]) => n).join(', ')}); an entry point reads one struct at binding 0`);
  if (used.length === 0) return { struct: null, fields: [], byteSize: 16 };
  const struct = used[0]![1];
  const fields = structFields(code, struct, where);
  const last = fields[fields.length - 1];
  const size = last ? roundUp(last.offset + 4 * last.components, Math.max(...fields.map((f) => alignOf(f.components)))) : 0;
  return { struct, fields, byteSize: Math.max(16, roundUp(size, 16)) };
}

/** Packs `values` by `layout`; throws `TensorShapeError` naming the field that is missing, unknown or out of range. */
export function packUniforms(layout: UniformLayout, values: UniformValues, where = 'kernel'): ArrayBuffer {
  const buf = new ArrayBuffer(layout.byteSize);
  const view = new DataView(buf);
  for (const name of Object.keys(values)) {
    if (!layout.fields.some((f) => f.name === name)) {
      throw new TensorShapeError(`${where}: uniform "${name}" is not a field of ${layout.struct ?? 'its (absent) uniform struct'}; fields: ${layout.fields.map((f) => f.name).join(', ') || 'none'}`);
    }
  }
  for (const field of layout.fields) {
    const value = values[field.name];
    if (value === undefined) throw new TensorShapeError(`${where}: uniform "${field.name}" (${layout.struct}) is missing`);
    const parts = typeof value === 'number' ? [value] : value;
    if (parts.length !== field.components || (field.components === 1) !== (typeof value === 'number')) {
      throw new TensorShapeError(`${where}: uniform "${field.name}" needs ${field.components === 1 ? 'a number' : `${field.components} numbers`}`);
    }
    parts.forEach((v, i) => writeScalar(view, field.offset + 4 * i, field.scalar, v, `${where}: uniform "${field.name}"`));
  }
  return buf;
}

function writeScalar(view: DataView, at: number, scalar: UniformScalar, v: number, what: string): void {
  if (scalar === 'f32') return view.setFloat32(at, v, true);
  const [lo, hi] = scalar === 'u32' ? [0, 0xffffffff] : [-0x80000000, 0x7fffffff];
  if (!Number.isInteger(v) || v < lo || v > hi) throw new TensorShapeError(`${what}: ${v} is not a ${scalar}`);
  if (scalar === 'u32') view.setUint32(at, v, true);
  else view.setInt32(at, v, true);
}
