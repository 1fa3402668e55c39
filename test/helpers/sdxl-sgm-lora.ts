import { readSafetensors } from '../../src/io/safetensors.js';
import type { LoraComponent } from '../../src/models/lora/lora-file.js';
import { buildSafetensors, type BuildEntry } from '../unit/io/build-safetensors.js';
import { randomUniform } from './rng.js';

/** One module of the test LoRA: its diffusers path and, independently, the name kohya-ss gives it. */
export interface SgmLoraModule {
  readonly component: LoraComponent;
  /** The diffusers module path (text encoders: from the encoder's root, without `text_model.`). */
  readonly path: string;
  /** The kohya key prefix: `lora_unet_` + the original (SGM/LDM) UNet path, or `lora_te1_`/`lora_te2_text_model_…`. */
  readonly kohya: string;
}

/**
 * Modules of pipeline-sdxl-tiny's UNet (layers_per_block 2; down blocks: no attention, then two with
 * 1 and 3 transformer layers; up blocks mirrored) and text encoders, with their names in the
 * original UNet written out by its layout rules, not by the code under test: `input_blocks` 0 is
 * conv_in, then per down block two (ResNet `.0`, attention `.1`) slots and a downsampler slot
 * (`.0.op`); `middle_block` 0/1/2 = ResNet, attention, ResNet; `output_blocks` three slots per up
 * block, the last carrying the upsampler (`.1.conv` without attention, `.2.conv` with one). In a
 * ResNet `in_layers.2` = conv1, `out_layers.3` = conv2, `emb_layers.1` = time_emb_proj,
 * `skip_connection` = conv_shortcut; `time_embed.0/2` = time_embedding, `label_emb.0.0/2` =
 * add_embedding, `out.2` = conv_out.
 */
export const SDXL_TINY_SGM_MODULES: readonly SgmLoraModule[] = [
  unet('conv_in', 'input_blocks_0_0'),
  unet('time_embedding.linear_1', 'time_embed_0'),
  unet('time_embedding.linear_2', 'time_embed_2'),
  unet('add_embedding.linear_1', 'label_emb_0_0'),
  unet('add_embedding.linear_2', 'label_emb_0_2'),
  unet('down_blocks.0.resnets.0.conv1', 'input_blocks_1_0_in_layers_2'),
  unet('down_blocks.0.resnets.1.conv2', 'input_blocks_2_0_out_layers_3'),
  unet('down_blocks.0.resnets.1.time_emb_proj', 'input_blocks_2_0_emb_layers_1'),
  unet('down_blocks.0.downsamplers.0.conv', 'input_blocks_3_0_op'),
  unet('down_blocks.1.resnets.0.conv_shortcut', 'input_blocks_4_0_skip_connection'),
  unet('down_blocks.1.attentions.0.proj_in', 'input_blocks_4_1_proj_in'),
  unet('down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', 'input_blocks_4_1_transformer_blocks_0_attn1_to_q'),
  unet('down_blocks.1.attentions.1.transformer_blocks.0.attn2.to_k', 'input_blocks_5_1_transformer_blocks_0_attn2_to_k'),
  unet('down_blocks.1.downsamplers.0.conv', 'input_blocks_6_0_op'),
  unet('down_blocks.2.resnets.0.conv_shortcut', 'input_blocks_7_0_skip_connection'),
  unet('down_blocks.2.attentions.1.transformer_blocks.2.ff.net.0.proj', 'input_blocks_8_1_transformer_blocks_2_ff_net_0_proj'),
  unet('mid_block.resnets.0.conv1', 'middle_block_0_in_layers_2'),
  unet('mid_block.attentions.0.transformer_blocks.1.attn1.to_out.0', 'middle_block_1_transformer_blocks_1_attn1_to_out_0'),
  unet('mid_block.attentions.0.proj_out', 'middle_block_1_proj_out'),
  unet('mid_block.resnets.1.time_emb_proj', 'middle_block_2_emb_layers_1'),
  unet('up_blocks.0.resnets.0.conv_shortcut', 'output_blocks_0_0_skip_connection'),
  unet('up_blocks.0.attentions.2.proj_out', 'output_blocks_2_1_proj_out'),
  unet('up_blocks.0.attentions.2.transformer_blocks.2.attn2.to_v', 'output_blocks_2_1_transformer_blocks_2_attn2_to_v'),
  unet('up_blocks.0.upsamplers.0.conv', 'output_blocks_2_2_conv'),
  unet('up_blocks.1.attentions.0.transformer_blocks.1.ff.net.2', 'output_blocks_3_1_transformer_blocks_1_ff_net_2'),
  unet('up_blocks.1.resnets.2.conv2', 'output_blocks_5_0_out_layers_3'),
  unet('up_blocks.1.upsamplers.0.conv', 'output_blocks_5_2_conv'),
  unet('up_blocks.2.resnets.0.conv_shortcut', 'output_blocks_6_0_skip_connection'),
  unet('up_blocks.2.resnets.2.conv1', 'output_blocks_8_0_in_layers_2'),
  unet('conv_out', 'out_2'),
  { component: 'text_encoder', path: 'encoder.layers.0.self_attn.q_proj', kohya: 'lora_te1_text_model_encoder_layers_0_self_attn_q_proj' },
  { component: 'text_encoder', path: 'encoder.layers.1.mlp.fc1', kohya: 'lora_te1_text_model_encoder_layers_1_mlp_fc1' },
  { component: 'text_encoder_2', path: 'encoder.layers.1.self_attn.out_proj', kohya: 'lora_te2_text_model_encoder_layers_1_self_attn_out_proj' },
  { component: 'text_encoder_2', path: 'encoder.layers.2.mlp.fc2', kohya: 'lora_te2_text_model_encoder_layers_2_mlp_fc2' },
];

function unet(path: string, sgm: string): SgmLoraModule {
  return { component: 'unet', path, kohya: `lora_unet_${sgm}` };
}

/** The same LoRA as a kohya file with original-UNet names and as a diffusers/PEFT file. */
export interface SgmLoraPair {
  readonly kohya: Uint8Array;
  readonly diffusers: Uint8Array;
}

const WEIGHT_FILES: Record<LoraComponent, string> = {
  unet: 'unet/diffusion_pytorch_model.safetensors',
  text_encoder: 'text_encoder/model.safetensors',
  text_encoder_2: 'text_encoder_2/model.safetensors',
};

/**
 * Builds a LoRA over `modules` of the diffusers repo at `baseDir`, shapes read from its weights:
 * random down/up with a rank that differs per module (1 to 4), a Conv2d's down with the base
 * kernel and its up 1x1. The kohya file carries `alpha` = r, so both files mean the same update.
 */
export async function buildSgmLoraPair(baseDir: string, modules: readonly SgmLoraModule[], seed = 1): Promise<SgmLoraPair> {
  const shapes = new Map<string, readonly number[]>();
  for (const component of new Set(modules.map((m) => m.component))) {
    const file = `${baseDir}/${WEIGHT_FILES[component]}`;
    for (const [key, t] of await readSafetensors({ nodePath: file }, { file })) shapes.set(`${component}:${key}`, t.shape);
  }
  const kohya: BuildEntry[] = [];
  const diffusers: BuildEntry[] = [];
  modules.forEach((m, i) => {
    const prefixed = m.component === 'unet' ? m.path : `text_model.${m.path}`;
    const w = shapes.get(`${m.component}:${prefixed}.weight`);
    if (!w) throw new Error(`${baseDir}: no weight ${prefixed}.weight in ${m.component}`);
    const r = 1 + (i % 4);
    const [out, cin, kh, kw] = w as [number, number, number?, number?];
    const downShape = kh === undefined ? [r, cin] : [r, cin, kh, kw!];
    const upShape = kh === undefined ? [out, r] : [out, r, 1, 1];
    const down = bytes(randomUniform(downShape.reduce((a, b) => a * b, 1), seed * 1000 + 2 * i, -0.5, 0.5));
    const up = bytes(randomUniform(upShape.reduce((a, b) => a * b, 1), seed * 1000 + 2 * i + 1, -0.5, 0.5));
    kohya.push(
      { name: `${m.kohya}.lora_down.weight`, dtype: 'F32', shape: downShape, bytes: down },
      { name: `${m.kohya}.lora_up.weight`, dtype: 'F32', shape: upShape, bytes: up },
      { name: `${m.kohya}.alpha`, dtype: 'F32', shape: [], bytes: bytes(Float32Array.of(r)) },
    );
    diffusers.push(
      { name: `${m.component}.${prefixed}.lora_A.weight`, dtype: 'F32', shape: downShape, bytes: down },
      { name: `${m.component}.${prefixed}.lora_B.weight`, dtype: 'F32', shape: upShape, bytes: up },
    );
  });
  return { kohya: buildSafetensors(kohya), diffusers: buildSafetensors(diffusers) };
}

function bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
