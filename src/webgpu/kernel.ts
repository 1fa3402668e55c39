import prelude from '../../shaders/prelude.wgsl?raw';
import { TensorShapeError } from './errors.js';
import { preprocess, type ShaderDefines } from './preprocess.js';
import { reflectUniforms, type UniformLayout } from './uniforms.js';

/** Access of a storage binding as the WGSL declares it. */
export type StorageAccess = 'read' | 'read_write';

/**
 * A compute kernel as declared: one entry point of one WGSL family file.
 *
 * Binding convention, fixed for every kernel: `@group(0) @binding(0)` is the uniform struct the
 * entry point reads (scalars and vectors of u32, i32, f32; `dispatch` takes its values by field
 * name and packs them as the WGSL declares them), `@binding(1..)` are the storage buffers in
 * `storage` order (at most 8).
 */
export interface KernelSpec {
  /** The WGSL family (file name without extension): part of error messages and labels. */
  readonly family: string;
  readonly entryPoint: string;
  /** Raw WGSL, `#if` directives allowed (see `preprocess`). */
  readonly source: string;
  readonly storage: readonly StorageAccess[];
}

/**
 * A declared kernel with its uniform layout reflected from the WGSL. Define each once at module
 * level (`defineKernel`); the pipeline cache is keyed on this object, so the source text is
 * never hashed or compared.
 */
export interface KernelDef extends KernelSpec {
  readonly uniforms: UniformLayout;
}

/** Declares a kernel, reflecting its uniform struct from the source once. */
export function defineKernel(spec: KernelSpec): KernelDef {
  const uniforms = reflectUniforms(spec.source, spec.entryPoint, spec.family);
  return Object.freeze({ family: spec.family, entryPoint: spec.entryPoint, source: spec.source, storage: Object.freeze([...spec.storage]), uniforms });
}

/**
 * Lays `count` workgroups of a 1-D launch out as a grid within `maxPerDim` per dimension.
 * The grid may hold a few more than `count`; WGSL recovers the index with
 * `linear_workgroup_index(workgroup_id, num_workgroups)` and bounds-checks it.
 */
export function foldWorkgroups(count: number, maxPerDim: number): [number, number, number] {
  if (count <= maxPerDim) return [Math.max(count, 1), 1, 1];
  const y = Math.ceil(count / maxPerDim);
  if (y <= maxPerDim) return [Math.ceil(count / y), y, 1];
  const z = Math.ceil(y / maxPerDim);
  const yz = Math.ceil(count / (maxPerDim * z));
  if (z > maxPerDim) throw new TensorShapeError(`${count} workgroups exceed the ${maxPerDim}³ grid`);
  return [maxPerDim, yz, z];
}

/** The full WGSL text of a kernel specialisation. */
export function kernelSource(def: KernelDef, defines: ShaderDefines): string {
  const head = defines.SHADER_F16 ? 'enable f16;\n' : '';
  return head + preprocess(prelude, defines, 'prelude.wgsl') + '\n' + preprocess(def.source, defines, `${def.family}.wgsl`);
}

/** Cache key of a specialisation: exactly what the WGSL depends on besides the kernel itself. */
export function specialisationKey(defines: ShaderDefines, constants: Readonly<Record<string, number>>): string {
  const flags = Object.keys(defines)
    .filter((k) => defines[k])
    .sort()
    .join(',');
  const consts = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`)
    .join(',');
  return `${flags}|${consts}`;
}

interface DeviceKernels {
  pipelines: WeakMap<KernelDef, Map<string, GPUComputePipeline>>;
  layouts: WeakMap<KernelDef, GPUBindGroupLayout>;
}

/** Device-scoped: a lost device's pipelines go with it. */
const deviceKernels = new WeakMap<GPUDevice, DeviceKernels>();

function kernelsOf(device: GPUDevice): DeviceKernels {
  let k = deviceKernels.get(device);
  if (!k) {
    k = { pipelines: new WeakMap(), layouts: new WeakMap() };
    deviceKernels.set(device, k);
  }
  return k;
}

/** The explicit bind group layout of a kernel (binding 0 uniforms, then its storage buffers). */
export function bindGroupLayout(device: GPUDevice, def: KernelDef): GPUBindGroupLayout {
  const k = kernelsOf(device);
  let layout = k.layouts.get(def);
  if (!layout) {
    layout = device.createBindGroupLayout({
      label: `${def.family}.${def.entryPoint}`,
      entries: [
        // A dynamic offset: the uniform chunk's bind group is the same for every slot in it.
        { binding: 0, visibility: GPUShaderStageCompute, buffer: { type: 'uniform', hasDynamicOffset: true } },
        ...def.storage.map((access, i) => ({
          binding: i + 1,
          visibility: GPUShaderStageCompute,
          buffer: { type: access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
        })),
      ],
    });
    k.layouts.set(def, layout);
  }
  return layout;
}

/** `GPUShaderStage.COMPUTE`, spelled out for the same reason as `BufferUsage`. */
const GPUShaderStageCompute = 0x4;

/** The cached pipeline of a specialisation, or a new map entry's place for one. */
function variantsOf(device: GPUDevice, def: KernelDef): Map<string, GPUComputePipeline> {
  const k = kernelsOf(device);
  let variants = k.pipelines.get(def);
  if (!variants) {
    variants = new Map();
    k.pipelines.set(def, variants);
  }
  return variants;
}

function pipelineDescriptor(device: GPUDevice, def: KernelDef, defines: ShaderDefines, constants: Readonly<Record<string, number>>, key: string): GPUComputePipelineDescriptor {
  const label = `${def.family}.${def.entryPoint}[${key}]`;
  const module = device.createShaderModule({ label, code: kernelSource(def, defines) });
  return {
    label,
    layout: device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout(device, def)] }),
    compute: { module, entryPoint: def.entryPoint, constants: { ...constants } },
  };
}

/**
 * The compiled pipeline of a specialisation, from the device's cache or compiled now.
 * `onCompile` is called only on a cache miss (the runtime counts compilations with it).
 */
export function getPipeline(
  device: GPUDevice,
  def: KernelDef,
  defines: ShaderDefines,
  constants: Readonly<Record<string, number>>,
  onCompile: () => void,
): GPUComputePipeline {
  const variants = variantsOf(device, def);
  const key = specialisationKey(defines, constants);
  let pipeline = variants.get(key);
  if (!pipeline) {
    pipeline = device.createComputePipeline(pipelineDescriptor(device, def, defines, constants, key));
    variants.set(key, pipeline);
    onCompile();
  }
  return pipeline;
}

/** Whether the device's cache holds the specialisation already. */
export function hasPipeline(device: GPUDevice, def: KernelDef, defines: ShaderDefines, constants: Readonly<Record<string, number>>): boolean {
  return kernelsOf(device).pipelines.get(def)?.has(specialisationKey(defines, constants)) ?? false;
}

/**
 * Compiles a specialisation into the device's cache without blocking the thread
 * (`createComputePipelineAsync`: drivers compile off the main thread), so that `getPipeline`
 * later finds it. Resolves true when it compiled one, false when the cache had it already.
 */
export async function compilePipeline(device: GPUDevice, def: KernelDef, defines: ShaderDefines, constants: Readonly<Record<string, number>>): Promise<boolean> {
  const variants = variantsOf(device, def);
  const key = specialisationKey(defines, constants);
  if (variants.has(key)) return false;
  const pipeline = await device.createComputePipelineAsync(pipelineDescriptor(device, def, defines, constants, key));
  // A dispatch may have compiled it synchronously meanwhile; either pipeline is the same program.
  if (variants.has(key)) return false;
  variants.set(key, pipeline);
  return true;
}
