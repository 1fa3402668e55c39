import { DiffusersRepo } from '../../src/io/diffusers-repo.js';
import type { SafetensorsTensor } from '../../src/io/safetensors.js';
import type { ModelSource } from '../../src/io/sources/model-source.js';
import { buildSafetensors, type BuildEntry } from '../unit/io/build-safetensors.js';

/**
 * Test-only: a diffusers SD repo written back as an original-layout single-file checkpoint, the
 * inverse of what `SingleFileSource` reads, written from diffusers' conversion script
 * (`convert_diffusers_to_original_stable_diffusion.py`) independently of the library's mapping.
 * The text encoder goes out as OpenCLIP's text tower (`textEncoder: 'open_clip'`, SD 2.x: q, k, v
 * packed into `in_proj`, one extra block that SD 2.x does not use, `text_projection`,
 * `logit_scale`) or under its Hugging Face names (`hf`, SD 1.x). `sdxl` writes an SDXL repo in
 * SGM layout (diffusers' `convert_diffusers_to_original_sdxl.py`): the UNet's `add_embedding` as
 * `label_emb.0`, `text_encoder` under `conditioner.embedders.0.transformer.`, `text_encoder_2` as
 * OpenCLIP's tower under `conditioner.embedders.1.model.` (every block, and its projection
 * stored transposed, [width, proj]). F32, as the repo stores it.
 */
export async function ldmCheckpointOf(repoSource: ModelSource, textEncoder: 'hf' | 'open_clip' | 'sdxl'): Promise<Uint8Array> {
  const repo = await DiffusersRepo.open(repoSource);
  const unetConfig = await repo.readConfig('unet');
  const vaeConfig = await repo.readConfig('vae');
  const L = unetConfig.layers_per_block as number;
  const N = (vaeConfig.up_block_types as unknown[]).length;
  const entries: BuildEntry[] = [];
  const add = (name: string, t: Pick<SafetensorsTensor, 'dtype' | 'shape' | 'data'>, shape = t.shape): void => {
    const data = t.data as Float32Array;
    entries.push({ name, dtype: t.dtype, shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  };
  const unet = (await repo.loadWeights('unet')).tensors;
  const withAttention = new Set([...unet.keys()].flatMap((k) => /^up_blocks\.(\d+)\.attentions\./.exec(k)?.[1] ?? []));
  for (const [key, t] of unet) add(`model.diffusion_model.${ldmUnetName(key, L, withAttention)}`, t);
  for (const [key, t] of (await repo.loadWeights('vae')).tensors) {
    const attention = /\.mid_block\.attentions\.0\.to_(q|k|v|out\.0)\.weight$/.test(key);
    add(`first_stage_model.${ldmVaeName(key, N)}`, t, attention ? [...t.shape, 1, 1] : t.shape);
  }
  const text = (await repo.loadWeights('text_encoder')).tensors;
  if (textEncoder === 'hf') {
    // `position_ids` (a constant 0..76) is left out: the loader skips it either way.
    for (const [key, t] of text) if (!key.endsWith('position_ids')) add(`cond_stage_model.transformer.${key}`, t);
  } else if (textEncoder === 'sdxl') {
    for (const [key, t] of text) if (!key.endsWith('position_ids')) add(`conditioner.embedders.0.transformer.${key}`, t);
    const text2 = (await repo.loadWeights('text_encoder_2')).tensors;
    const projection = text2.get('text_projection.weight') ?? fail('text_projection.weight');
    addOpenClip(text2, add, 'conditioner.embedders.1.model.', { extraBlock: false, projection: transposed(projection) });
  } else {
    const width = text.get('text_model.final_layer_norm.weight')!.shape[0]!;
    // Unused by SD 2.x: any values.
    addOpenClip(text, add, 'cond_stage_model.model.', { extraBlock: true, projection: { dtype: 'F32', shape: [width, width], data: new Float32Array(width * width).fill(0.5) } });
  }
  return buildSafetensors(entries);
}

const RESNET: Record<string, string> = { norm1: 'in_layers.0', conv1: 'in_layers.2', time_emb_proj: 'emb_layers.1', norm2: 'out_layers.0', conv2: 'out_layers.3', conv_shortcut: 'skip_connection' };
const TOP: Record<string, string> = {
  conv_in: 'input_blocks.0.0',
  'time_embedding.linear_1': 'time_embed.0',
  'time_embedding.linear_2': 'time_embed.2',
  'add_embedding.linear_1': 'label_emb.0.0',
  'add_embedding.linear_2': 'label_emb.0.2',
  conv_norm_out: 'out.0',
  conv_out: 'out.2',
};

function resnet(rest: string): string {
  const [part, ...tail] = rest.split('.');
  return [RESNET[part!] ?? fail(rest), ...tail].join('.');
}

function fail(key: string): never {
  throw new Error(`ldmCheckpointOf: no LDM name for ${key}`);
}

function ldmUnetName(key: string, L: number, withAttention: Set<string>): string {
  const top = /^(conv_in|time_embedding\.linear_[12]|add_embedding\.linear_[12]|conv_norm_out|conv_out)\.(.+)$/.exec(key);
  if (top) return `${TOP[top[1]!]}.${top[2]}`;
  let m = /^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) return `input_blocks.${(L + 1) * Number(m[1]) + Number(m[3]) + 1}.${m[2] === 'resnets' ? `0.${resnet(m[4]!)}` : `1.${m[4]}`}`;
  m = /^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(key);
  if (m) return `input_blocks.${(L + 1) * (Number(m[1]) + 1)}.0.op.${m[2]}`;
  m = /^mid_block\.(resnets|attentions)\.(\d)\.(.+)$/.exec(key);
  if (m) return m[1] === 'attentions' ? `middle_block.1.${m[3]}` : `middle_block.${m[2] === '0' ? 0 : 2}.${resnet(m[3]!)}`;
  m = /^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) return `output_blocks.${(L + 1) * Number(m[1]) + Number(m[3])}.${m[2] === 'resnets' ? `0.${resnet(m[4]!)}` : `1.${m[4]}`}`;
  m = /^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/.exec(key);
  if (m) return `output_blocks.${(L + 1) * Number(m[1]) + L}.${withAttention.has(m[1]!) ? 2 : 1}.conv.${m[2]}`;
  return fail(key);
}

const VAE_ATTENTION: Record<string, string> = { group_norm: 'norm', to_q: 'q', to_k: 'k', to_v: 'v', 'to_out.0': 'proj_out' };

function ldmVaeName(key: string, N: number): string {
  const shortcut = (rest: string): string => rest.replace(/^conv_shortcut\./, 'nin_shortcut.');
  let m = /^encoder\.down_blocks\.(\d+)\.(?:resnets\.(\d+)\.(.+)|downsamplers\.0\.conv\.(.+))$/.exec(key);
  if (m) return m[4] ? `encoder.down.${m[1]}.downsample.conv.${m[4]}` : `encoder.down.${m[1]}.block.${m[2]}.${shortcut(m[3]!)}`;
  m = /^decoder\.up_blocks\.(\d+)\.(?:resnets\.(\d+)\.(.+)|upsamplers\.0\.conv\.(.+))$/.exec(key);
  if (m) {
    const k = N - 1 - Number(m[1]);
    return m[4] ? `decoder.up.${k}.upsample.conv.${m[4]}` : `decoder.up.${k}.block.${m[2]}.${shortcut(m[3]!)}`;
  }
  m = /^(encoder|decoder)\.mid_block\.(?:resnets\.(\d)\.(.+)|attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(.+))$/.exec(key);
  if (m) return m[2] ? `${m[1]}.mid.block_${Number(m[2]) + 1}.${shortcut(m[3]!)}` : `${m[1]}.mid.attn_1.${VAE_ATTENTION[m[4]!]}.${m[5]}`;
  return key.replace('conv_norm_out', 'norm_out');
}

/** A 2-D F32 tensor transposed. */
function transposed(t: SafetensorsTensor): Pick<SafetensorsTensor, 'dtype' | 'shape' | 'data'> {
  const [rows, cols] = t.shape as [number, number];
  const from = t.data as Float32Array;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[j * rows + i] = from[i * cols + j]!;
  return { dtype: 'F32', shape: [cols, rows], data };
}

/**
 * The Hugging Face CLIP text model as OpenCLIP's text tower under `p`: `extraBlock` adds one block
 * past the model's (SD 2.x's tower has one more than diffusers' config), `projection` is stored
 * as `text_projection`.
 */
function addOpenClip(
  text: Map<string, SafetensorsTensor>,
  add: (name: string, t: Pick<SafetensorsTensor, 'dtype' | 'shape' | 'data'>, shape?: number[]) => void,
  p: string,
  options: { extraBlock: boolean; projection: Pick<SafetensorsTensor, 'dtype' | 'shape' | 'data'> },
): void {
  const get = (k: string): SafetensorsTensor => text.get(`text_model.${k}`) ?? fail(k);
  add(`${p}token_embedding.weight`, get('embeddings.token_embedding.weight'));
  add(`${p}positional_embedding`, get('embeddings.position_embedding.weight'));
  add(`${p}ln_final.weight`, get('final_layer_norm.weight'));
  add(`${p}ln_final.bias`, get('final_layer_norm.bias'));
  const layers = new Set([...text.keys()].flatMap((k) => /encoder\.layers\.(\d+)\./.exec(k)?.[1] ?? []));
  const last = String(layers.size - 1);
  // SD 2.x's tower has one block more than diffusers' config; it is stored and must be dropped.
  for (const i of [...layers, ...(options.extraBlock ? [String(layers.size)] : [])]) {
    const at = `encoder.layers.${i === String(layers.size) ? last : i}`;
    const b = `${p}transformer.resblocks.${i}.`;
    for (const kind of ['weight', 'bias']) {
      const [q, k, v] = ['q_proj', 'k_proj', 'v_proj'].map((n) => get(`${at}.self_attn.${n}.${kind}`));
      const packed = new Float32Array(3 * q!.data.length);
      [q, k, v].forEach((t, j) => packed.set(t!.data as Float32Array, j * q!.data.length));
      add(`${b}attn.in_proj_${kind}`, { dtype: 'F32', shape: [3 * q!.shape[0]!, ...q!.shape.slice(1)], data: packed });
      add(`${b}attn.out_proj.${kind}`, get(`${at}.self_attn.out_proj.${kind}`));
      add(`${b}ln_1.${kind}`, get(`${at}.layer_norm1.${kind}`));
      add(`${b}ln_2.${kind}`, get(`${at}.layer_norm2.${kind}`));
      add(`${b}mlp.c_fc.${kind}`, get(`${at}.mlp.fc1.${kind}`));
      add(`${b}mlp.c_proj.${kind}`, get(`${at}.mlp.fc2.${kind}`));
    }
  }
  add(`${p}text_projection`, options.projection);
  add(`${p}logit_scale`, { dtype: 'F32', shape: [], data: Float32Array.of(4.6) });
}
