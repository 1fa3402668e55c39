import { readFile } from 'node:fs/promises';
import { readSafetensors } from '../../src/io/safetensors.js';
import { LocalFolderSource } from '../../src/io/sources/local-folder-source.js';
import { loraFactor, matchLora } from '../../src/models/lora/bind.js';
import { readLoraFile, type LoraComponent, type LoraFile, type LoraModule } from '../../src/models/lora/lora-file.js';
import { parseUNetConfig } from '../../src/models/unet/config.js';
import { compareTensors, type CompareResult } from './compare.js';
import type { LoraFixture } from './fixture/lora.js';
import { runPipelineFixture, type PipelineRunOptions } from './pipeline.js';

/** A weight of the base repo as the host reads it, keyed as the fixture keys fused weights. */
interface HostLayer {
  readonly kind: 'linear' | 'conv2d';
  readonly weight: { readonly shape: readonly number[] };
  readonly data: Float32Array;
  /** The fixture's key: `unet.<path>.weight` / `text_encoder.text_model.<path>.weight`. */
  readonly key: string;
}

/**
 * Runs a `lora` fixture, for each of its LoRA files (kohya and diffusers forms):
 * - the module counts and the fused weights W' = W + scale·(alpha/r)·up·down computed on the host
 *   from the parsed file and the base weights, against `fused.safetensors` and every module's
 *   `fused_weight_norms` (`tolerance_fused`): the loader's reading of the file, with nothing run;
 * - the base pipeline run through `DiffusionEngine` with the LoRA in the request (`loras`, at the
 *   fixture's `scale`), every stored output compared as for a `pipeline` fixture.
 * Result names start with the file's form.
 */
export async function runLoraFixture(fx: LoraFixture, options: PipelineRunOptions = {}): Promise<CompareResult[]> {
  const dir = (fx.source as LocalFolderSource).dir;
  const layers = await hostLayers(fx.baseDir);
  // kohya names in original-UNet (SGM) form are numbered by the base UNet's layers_per_block.
  const unetConfig = `${fx.baseDir}/unet/config.json`;
  const unetLayersPerBlock = parseUNetConfig(JSON.parse(await readFile(unetConfig, 'utf8')), unetConfig).layersPerBlock;
  const results: CompareResult[] = [];
  for (const [form, name] of Object.entries(fx.loraFiles)) {
    const path = `${dir}/${name}`;
    const lora = await readLoraFile({ nodePath: path }, path);
    const prefix = (r: CompareResult): CompareResult => ({ ...r, name: `${form}: ${r.name}` });
    results.push(...(await fusedChecks(fx, lora, layers, unetLayersPerBlock)).map(prefix));
    const run = await runPipelineFixture(fx.run, { ...options, request: { ...options.request, loras: [{ source: path, scale: fx.scale }] } });
    results.push(...run.map(prefix));
  }
  return results;
}

/** The base repo's UNet and text-encoder weights of rank 2 or 4, by component and module path. */
async function hostLayers(baseDir: string): Promise<Record<LoraComponent, Map<string, HostLayer> | null>> {
  const read = async (file: string, component: 'unet' | 'text_encoder'): Promise<Map<string, HostLayer>> => {
    const source = new LocalFolderSource(baseDir);
    const tensors = await readSafetensors(await source.fetchFile(file), { file: `${baseDir}/${file}` });
    const out = new Map<string, HostLayer>();
    for (const [key, t] of tensors) {
      if (!key.endsWith('.weight') || !(t.data instanceof Float32Array) || (t.shape.length !== 2 && t.shape.length !== 4)) continue;
      const path = key.slice(0, -'.weight'.length).replace(/^text_model\./, '');
      const fixtureKey = component === 'unet' ? `unet.${path}.weight` : `text_encoder.text_model.${path}.weight`;
      out.set(path, { kind: t.shape.length === 2 ? 'linear' : 'conv2d', weight: { shape: t.shape }, data: t.data, key: fixtureKey });
    }
    return out;
  };
  return { unet: await read('unet/diffusion_pytorch_model.safetensors', 'unet'), text_encoder: await read('text_encoder/model.safetensors', 'text_encoder'), text_encoder_2: null };
}

/** W' = W + scale·(alpha/r)·(up.flatten(1) @ down.flatten(1)), in float64. */
function fused(layer: HostLayer, m: LoraModule, scale: number): Float64Array {
  const out = layer.weight.shape[0]!;
  const r = m.down.shape[0]!;
  const k = m.down.data.length / r;
  const f = scale * loraFactor(m);
  const w = Float64Array.from(layer.data);
  for (let o = 0; o < out; o++) {
    for (let j = 0; j < r; j++) {
      const u = f * m.up.data[o * r + j]!;
      for (let i = 0; i < k; i++) w[o * k + i]! += u * m.down.data[j * k + i]!;
    }
  }
  return w;
}

function l2(a: ArrayLike<number>, b?: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - (b ? b[i]! : 0)) ** 2;
  return Math.sqrt(s);
}

async function fusedChecks(fx: LoraFixture, lora: LoraFile, layers: Record<LoraComponent, Map<string, HostLayer> | null>, unetLayersPerBlock: number): Promise<CompareResult[]> {
  const matched = matchLora(lora, layers, { unetLayersPerBlock });
  const exact = { maxAbs: 0, maxRelL2: 0 };
  const count = (c: LoraComponent) => matched.filter(([m]) => m.component === c).length;
  const results: CompareResult[] = [
    compareTensors('modules (unet, text_encoder)', Float32Array.from([count('unet'), count('text_encoder')]), Float32Array.from([fx.numModules.unet, fx.numModules.text_encoder]), exact),
  ];
  const byKey = new Map(matched.map(([m, layer]) => [layer.key, fused(layer, m, fx.scale)] as const));
  const baseOf = new Map(matched.map(([, layer]) => [layer.key, layer.data] as const));
  // Every module the fixture lists, with ‖W'‖ and ‖W' − W‖ relative to the reference's.
  let worst = 0;
  let missing = 0;
  for (const [key, norms] of Object.entries(fx.fusedWeightNorms)) {
    const w = byKey.get(key);
    if (!w) {
      missing++;
      continue;
    }
    worst = Math.max(worst, Math.abs(l2(w) - norms.fusedL2) / norms.fusedL2, Math.abs(l2(w, baseOf.get(key)!) - norms.deltaL2) / norms.deltaL2);
  }
  const normTolerance = { maxAbs: fx.toleranceFused.maxRelL2, maxRelL2: Infinity };
  results.push({ name: `fused_weight_norms (${Object.keys(fx.fusedWeightNorms).length} modules, max relative error)`, maxAbs: worst, relL2: 0, tolerance: normTolerance, pass: missing === 0 && worst <= normTolerance.maxAbs });
  if (fx.fusedWeights) {
    const dir = (fx.source as LocalFolderSource).dir;
    const stored = await readSafetensors({ nodePath: `${dir}/${fx.fusedWeights}` }, { file: `${dir}/${fx.fusedWeights}` });
    for (const [key, t] of stored) {
      const w = byKey.get(key);
      results.push(compareTensors(`fused ${key}`, w ? Float32Array.from(w) : new Float32Array(t.data.length).fill(Number.NaN), t.data as Float32Array, { maxAbs: fx.toleranceFused.maxAbs, maxRelL2: Infinity }));
    }
  }
  return results;
}
