import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionOutput, type DiffusionRequestInit } from '../../../src/index.js';
import { fixturesOfKind } from '../../helpers/fixture-kind.js';
import { buildSafetensors } from '../../unit/io/build-safetensors.js';

// The first `lora` fixture (found by kind): its base pipeline and its two LoRA files.
const fx = (await fixturesOfKind('lora'))[0]!.fx;
const dir = (fx.source as unknown as { dir: string }).dir;
const kohya = join(dir, fx.loraFiles['kohya']!);
const diffusers = join(dir, fx.loraFiles['diffusers']!);

function f32(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** A small kohya LoRA for SDXL: its text_encoder_2 and 2048-wide cross-attention modules are not SD 1.5's. */
function sdxlLora(): Uint8Array {
  const pair = (name: string, out: number, cin: number) => [
    { name: `${name}.lora_down.weight`, dtype: 'F32', shape: [2, cin], bytes: f32(Array(2 * cin).fill(0.01)) },
    { name: `${name}.lora_up.weight`, dtype: 'F32', shape: [out, 2], bytes: f32(Array(out * 2).fill(0.01)) },
    { name: `${name}.alpha`, dtype: 'F32', shape: [], bytes: f32([2]) },
  ];
  return buildSafetensors([
    ...pair('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q', 32, 32),
    ...pair('lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k', 640, 2048),
    ...pair('lora_te2_text_model_encoder_layers_0_self_attn_q_proj', 1280, 1280),
  ]);
}

describe('LoRAs per request through DiffusionEngine (webgpu, Dawn, the lora fixture’s base)', () => {
  let engine: DiffusionEngine;
  const request: DiffusionRequestInit = {
    prompt: fx.run.prompt,
    negativePrompt: fx.run.negativePrompt,
    numInferenceSteps: fx.run.numInferenceSteps,
    guidanceScale: fx.run.guidanceScale,
    height: fx.run.height,
    width: fx.run.width,
    seed: 5,
    returnIntermediates: true,
    returnTrajectoryLatents: true,
  };

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: fx.baseDir, dtype: 'f32', loraNames: { fox: kohya } });
  });

  afterAll(async () => {
    await engine?.close();
  });

  const finalLatents = (out: DiffusionOutput | undefined): Float32Array => {
    expect(out?.error ?? null).toBeNull();
    return out!.trajectoryLatents!.at(-1)!;
  };
  const embeds = (out: DiffusionOutput | undefined): Float32Array => out!.intermediates!.promptEmbeds;
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

  it('applies a LoRA to one request only: the next request is bit-identical to one before it', async () => {
    const [before, withLora, after] = await engine.step([{ ...request }, { ...request, loras: [{ source: kohya, scale: fx.scale }] }, { ...request }]);
    expect(finalLatents(after)).toEqual(finalLatents(before));
    expect(embeds(after)).toEqual(embeds(before));
    expect(Array.from(after!.images[0]!.data)).toEqual(Array.from(before!.images[0]!.data));
    // The LoRA moves the text encoder's output and the latents.
    expect(maxDiff(embeds(withLora), embeds(before))).toBeGreaterThan(1e-3);
    expect(maxDiff(finalLatents(withLora), finalLatents(before))).toBeGreaterThan(1e-2);
  });

  it('at scale 0 changes nothing; two LoRAs stack (kohya and diffusers at half the scale each equal one at the full scale)', async () => {
    const [base, zero, full, stacked] = await engine.step([
      { ...request },
      { ...request, loras: [{ source: kohya, scale: 0 }] },
      { ...request, loras: [{ source: kohya, scale: fx.scale }] },
      { ...request, loras: [{ source: kohya, scale: fx.scale / 2 }, { source: diffusers, scale: fx.scale / 2 }] },
    ]);
    expect(finalLatents(zero)).toEqual(finalLatents(base));
    expect(maxDiff(finalLatents(stacked), finalLatents(full))).toBeLessThan(1e-4);
    expect(maxDiff(embeds(stacked), embeds(full))).toBeLessThan(1e-5);
  });

  it('reads a LoRA once: used again, it is not opened again (here its file is gone by then)', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'omni-lora-'));
    const copy = join(scratch, 'fox.safetensors');
    await copyFile(kohya, copy);
    const [first] = await engine.step([{ ...request, loras: [{ source: copy, scale: fx.scale }] }]);
    await rm(scratch, { recursive: true });
    const [again] = await engine.step([{ ...request, loras: [{ source: copy, scale: fx.scale }] }]);
    expect(finalLatents(again)).toEqual(finalLatents(first));
  });

  it('takes a LoRA as bytes and as a Blob, with the same result as from its path', async () => {
    const bytes = new Uint8Array(await readFile(kohya));
    const [fromPath, fromBytes, fromBlob] = await engine.step([
      { ...request, loras: [{ source: kohya, scale: fx.scale }] },
      { ...request, loras: [{ source: bytes, scale: fx.scale }] },
      { ...request, loras: [{ source: new Blob([bytes]), scale: fx.scale }] },
    ]);
    expect(finalLatents(fromBytes)).toEqual(finalLatents(fromPath));
    expect(finalLatents(fromBlob)).toEqual(finalLatents(fromPath));
  });

  it('refuses a LoRA for another base (SDXL) whole, naming how many modules matched and some that did not, and stays usable', async () => {
    const [bad, good, base] = await engine.step([{ ...request, loras: [{ source: sdxlLora() }] }, { ...request, loras: [{ source: kohya, scale: fx.scale }] }, { ...request }]);
    expect(bad!.images).toEqual([]);
    expect(bad!.errorName).toBe('LoraMismatchError');
    expect(bad!.error).toMatch(/1 of the LoRA's 3 modules match/);
    expect(bad!.error).toMatch(/attn2_to_k.*do not fit the Linear weight/);
    expect(bad!.error).toMatch(/text_encoder_2/);
    const [again] = await engine.step([{ ...request, loras: [{ source: kohya, scale: fx.scale }] }]);
    expect(finalLatents(again)).toEqual(finalLatents(good));
    expect(base!.error ?? null).toBeNull();
  });

  it("takes A1111's <lora:name:multiplier> tags out of the prompt and applies the named LoRA", async () => {
    const [tagged, given, unknown] = await engine.step([
      { ...request, prompt: `${request.prompt} <lora:fox:${fx.scale}>` },
      { ...request, loras: [{ source: kohya, scale: fx.scale }] },
      { ...request, prompt: `${request.prompt} <lora:wolf:1>` },
    ]);
    expect(finalLatents(tagged)).toEqual(finalLatents(given));
    expect(Array.from(tagged!.intermediates!.inputIds)).toEqual(Array.from(given!.intermediates!.inputIds));
    expect(unknown!.errorName).toBe('RequestValidationError');
    expect(unknown!.error).toMatch(/<lora:wolf:1>.*one of DiffusionConfig\.loraNames \(fox\)/);
  });

  it('refuses a malformed loras field by name before any work', async () => {
    const [bad] = await engine.step([{ ...request, loras: [{ source: 5 as unknown as string }] }]);
    expect(bad!.errorName).toBe('RequestValidationError');
    expect(bad!.error).toMatch(/loras\[0\]\.source/);
  });
});
