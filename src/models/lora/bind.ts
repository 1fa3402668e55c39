import type { TensorDType, TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import type { LoraAdapter, LoraTarget } from './adapter.js';
import { LoraMismatchError } from './errors.js';
import type { LoraComponent, LoraFile, LoraModule, LoraTensor } from './lora-file.js';
import { isSgmUnetModule, sgmUnetModule } from './sgm-names.js';

/** A model's adaptable layers by diffusers module path, per component (null: the model has no such component). */
export type LoraTargets<T extends TensorLike> = Record<LoraComponent, ReadonlyMap<string, LoraTarget<T>> | null>;

/** What matching needs to know of the model beyond its layers. */
export interface LoraMatchOptions {
  /**
   * The UNet config's `layers_per_block`, which numbers the original UNet's blocks: needed to match
   * kohya SDXL LoRAs' original-UNet (SGM) module names (`input_blocks_4_1_…`); without it, such
   * modules do not match.
   */
  readonly unetLayersPerBlock?: number | null;
}

/** One module of a bound LoRA: its layer, its uploaded pair and `alpha / r`. */
interface BoundModule<T extends TensorLike> {
  readonly component: LoraComponent;
  readonly target: LoraTarget<T>;
  readonly down: T;
  readonly up: T;
  readonly factor: number;
}

/** A LoRA matched to a model's layers and uploaded, ready to attach at any scale. */
export class BoundLora<T extends TensorLike> {
  constructor(
    readonly file: string,
    private readonly ops: TensorOps<T>,
    private readonly modules: readonly BoundModule<T>[],
  ) {}

  /** Device bytes of its low-rank weights, as elements (the caller knows the dtype). */
  get elements(): number {
    return this.modules.reduce((n, m) => n + size(m.down.shape) + size(m.up.shape), 0);
  }

  /** The adapters it adds at `scale` (the request's; `alpha / r` is applied here), by layer; text-encoder layers at `textEncoderScale`. */
  adapters(scale: number, textEncoderScale = scale): Array<[LoraTarget<T>, LoraAdapter<T>]> {
    return this.modules.map((m) => [m.target, { down: m.down, up: m.up, scale: (m.component === 'unet' ? scale : textEncoderScale) * m.factor }]);
  }

  release(): void {
    for (const m of this.modules) {
      this.ops.release(m.down);
      this.ops.release(m.up);
    }
  }
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Matches every module of `lora` to a layer of `targets` and uploads its weights as `dtype`.
 * Every module is matched (names and shapes) before anything is uploaded: a LoRA for another
 * base fails whole with `LoraMismatchError`, naming how many modules matched and a few that did not.
 */
export function bindLora<T extends TensorLike>(ops: TensorOps<T>, lora: LoraFile, targets: LoraTargets<T>, dtype: TensorDType, options: LoraMatchOptions = {}): BoundLora<T> {
  const matched = matchLora(lora, targets, options);
  const bound: BoundModule<T>[] = [];
  try {
    for (const [m, target] of matched) {
      const [out, cin, kh = 1, kw = 1] = target.weight.shape as number[];
      const r = m.down.shape[0]!;
      const downShape = target.kind === 'linear' ? [r, cin!] : [r, cin!, kh, kw];
      const upShape = target.kind === 'linear' ? [out!, r] : [out!, r, 1, 1];
      bound.push({ component: m.component, target, down: upload(ops, m.down, downShape, dtype), up: upload(ops, m.up, upShape, dtype), factor: loraFactor(m) });
    }
  } catch (err) {
    new BoundLora(lora.file, ops, bound).release();
    throw err;
  }
  return new BoundLora(lora.file, ops, bound);
}

/** A module's `alpha / r` (1 without an alpha: kohya's default alpha = r, or diffusers' folded form). */
export function loraFactor(m: LoraModule): number {
  const r = m.down.shape[0]!;
  return (m.alpha ?? r) / r;
}

/**
 * Each module of `lora` with the layer of `targets` it adapts, names and shapes checked; throws
 * `LoraMismatchError` unless every module has its layer. kohya UNet names in original-UNet (SGM)
 * form are mapped to diffusers' module per module, as diffusers maps them (see `sgmUnetModule`).
 */
export function matchLora<T extends TensorLike, L extends { readonly kind: 'linear' | 'conv2d'; readonly weight: T }>(
  lora: LoraFile,
  targets: Record<LoraComponent, ReadonlyMap<string, L> | null>,
  options: LoraMatchOptions = {},
): Array<[LoraModule, L]> {
  const byUnderscore = new Map<LoraComponent, Map<string, string>>();
  const lookup = (m: LoraModule): L | string => {
    const layers = targets[m.component];
    if (!layers) return `${m.key}: the model has no ${m.component}`;
    let path = m.name;
    if (m.naming === 'underscore') {
      // Module names hold `_` themselves (to_out, transformer_blocks), so map the model's names
      // to their underscore form rather than splitting the LoRA's.
      let names = byUnderscore.get(m.component);
      if (!names) {
        names = new Map([...layers.keys()].map((k) => [k.replace(/\./g, '_'), k]));
        byUnderscore.set(m.component, names);
      }
      let name = m.name;
      if (m.component === 'unet' && isSgmUnetModule(name)) {
        const perBlock = options.unetLayersPerBlock ?? null;
        if (perBlock === null) return `${m.key}: an original-UNet (SGM) module name, which needs the UNet's layers_per_block to match`;
        const mapped = sgmUnetModule(name, perBlock);
        if (mapped === null) return `${m.key}: no such unet module (not an original-UNet module)`;
        name = mapped;
      }
      const found = names.get(name);
      if (!found) return `${m.key}: no such ${m.component} module${name === m.name ? '' : ` (original-UNet name, diffusers ${name})`}`;
      path = found;
    }
    const target = layers.get(path);
    if (!target) return `${m.key}: no such ${m.component} module`;
    return shapeProblem(m, target) ?? target;
  };
  const matched: Array<[LoraModule, L]> = [];
  const unmatched: string[] = [];
  for (const m of lora.modules) {
    const t = lookup(m);
    if (typeof t === 'string') unmatched.push(t);
    else matched.push([m, t]);
  }
  if (unmatched.length > 0) throw new LoraMismatchError(lora.file, matched.length, lora.modules.length, unmatched.slice(0, 5));
  return matched;
}

function upload<T extends TensorLike>(ops: TensorOps<T>, t: LoraTensor, shape: number[], dtype: TensorDType): T {
  return ops.upload(t.data, shape, dtype);
}

/**
 * Why `m` cannot adapt `target`, or null. A 1x1 conv takes a Linear-shaped pair and a Linear a
 * 1x1-conv-shaped one (the same numbers: trainers differ on SD 1.x's proj_in/proj_out).
 */
function shapeProblem(m: LoraModule, target: { readonly kind: 'linear' | 'conv2d'; readonly weight: TensorLike }): string | null {
  const w = target.weight.shape;
  const [out, cin, kh = 1, kw = 1] = w as number[];
  const d = m.down.shape;
  const u = m.up.shape;
  const flatDown = d.length === 2 || (d[2] === 1 && d[3] === 1);
  const downOk = target.kind === 'linear' || kh * kw === 1 ? flatDown && d[1] === cin : d.length === 4 && d[1] === cin && d[2] === kh && d[3] === kw;
  if (!downOk || u[0] !== out) {
    return `${m.key}: down [${d}] / up [${u}] do not fit the ${target.kind === 'linear' ? 'Linear' : 'Conv2d'} weight [${w}]`;
  }
  return null;
}
