import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../../src/cli/main.js';
import { formatPlanReport } from '../../../../src/plan/format-report.js';
import { planModel } from '../../../../src/plan/plan-model.js';
import { repoRoot } from '../../../helpers/fixtures.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

function values(out: string): Map<string, string> {
  return new Map(out.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]));
}

const sdTurbo = resolve(repoRoot, 'bench/configs/sd-turbo');
const configOf = (component: string): unknown => JSON.parse(readFileSync(join(sdTurbo, component, 'config.json'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'plan-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('omni-diffusion plan', () => {
  it('prints the planned weights, activation peak, largest binding and dispatches per UNet call as key=value lines', async () => {
    const { code, out, err } = await run(['plan', sdTurbo, '--width', '512', '--height', '512', '--batch', '2', '--dtype', 'f16']);
    expect(err).toBe('');
    expect(code).toBe(0);
    const v = values(out);
    for (const key of ['weights_bytes', 'peak_activation_bytes', 'largest_binding_bytes', 'dispatches_per_unet']) {
      expect(v.get(key), key).toMatch(/^[1-9]\d*$/);
    }
    expect(v.get('score_matrix_buffers')).toBe('0');
    const report = planModel({ unet: configOf('unet'), vae: configOf('vae'), textEncoder: configOf('text_encoder'), source: sdTurbo }, { width: 512, height: 512, batch: 2, dtype: 'f16' });
    expect(out).toBe(`${formatPlanReport(report).join('\n')}\n`);
  });

  it('plans SDXL (both text encoders) with --activations f16: the UNet halves, the force_upcast VAE stays f32', async () => {
    const sdxl = resolve(repoRoot, 'bench/configs/sdxl-base');
    const argv = ['plan', sdxl, '--width', '1024', '--height', '1024', '--batch', '2'];
    const f32 = await run(argv);
    const f16 = await run([...argv, '--activations', 'f16']);
    expect([f32.code, f16.code, f16.err]).toEqual([0, 0, '']);
    const [a, b] = [values(f32.out), values(f16.out)];
    expect(b.get('activations')).toBe('f16');
    expect(b.get('text_encoder_2.weights_bytes')).toMatch(/^[1-9]\d*$/);
    expect(Number(b.get('unet.peak_activation_bytes'))).toBeLessThan(Number(a.get('unet.peak_activation_bytes')));
    expect(b.get('vae_decoder.peak_activation_bytes')).toBe(a.get('vae_decoder.peak_activation_bytes'));
    const bad = await run([...argv, '--activations', 'f8']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('option --activations expects f32 or f16, got "f8"');
    expect((await run([...argv, '--activations', 'f16', '--packed-f16'])).code).toBe(2);
  });

  it('plans a folder holding only unet/config.json, with the defaults 512x512, batch 2, f16', async () => {
    const dir = join(scratch, 'unet-only');
    mkdirSync(join(dir, 'unet'), { recursive: true });
    copyFileSync(join(sdTurbo, 'unet', 'config.json'), join(dir, 'unet', 'config.json'));
    const { code, out } = await run(['plan', dir]);
    expect(code).toBe(0);
    const v = values(out);
    expect([v.get('width'), v.get('height'), v.get('batch'), v.get('dtype')]).toEqual(['512', '512', '2', 'f16']);
    expect(v.get('unet.input')).toBe('[2,4,64,64]');
    expect([...v.keys()].some((k) => k.startsWith('vae_decoder.') || k.startsWith('text_encoder.'))).toBe(false);
  });

  it('plans the VAE encoder with --img2img', async () => {
    const { code, out } = await run(['plan', sdTurbo, '--width', '256', '--height', '256', '--img2img']);
    expect(code).toBe(0);
    const v = values(out);
    expect(v.get('img2img')).toBe('true');
    expect(v.get('vae_encoder.input')).toBe('[1,3,256,256]');
    expect(v.get('vae_encoder.parameters')).toMatch(/^[1-9]\d*$/);
    expect(values((await run(['plan', sdTurbo, '--width', '256', '--height', '256'])).out).has('vae_encoder.input')).toBe(false);
  });

  it('plans under raised limits and without shader-f16 when asked', async () => {
    const { code, out } = await run(['plan', sdTurbo, '--max-storage-binding', String(1 << 30), '--max-buffer', String(1 << 30), '--max-workgroup-storage', '32768', '--packed-f16']);
    expect(code).toBe(0);
    const v = values(out);
    expect(v.get('max_storage_buffer_binding_size')).toBe(String(1 << 30));
    expect(v.get('shader_f16')).toBe('false');
    expect(v.get('within_limits')).toBe('true');
    expect(v.has('vae_decoder.error')).toBe(false);
  });

  it('reports a component over the limits with its error, limit, tensor and bytes, and plans the others', async () => {
    const { code, out } = await run(['plan', sdTurbo, '--width', '256', '--height', '256', '--max-workgroup-storage', '2048']);
    expect(code).toBe(0);
    const v = values(out);
    expect(v.get('within_limits')).toBe('false');
    expect(v.get('vae_decoder.error')).toMatch(/^DeviceLimitError: The vae_decoder at 256×256, input \[1,4,32,32\] does not fit this GPU: .* more than maxComputeWorkgroupStorageSize = 2048\.$/);
    expect(v.get('vae_decoder.limit')).toBe('maxComputeWorkgroupStorageSize');
    expect(v.get('vae_decoder.limit_value')).toBe('2048');
    expect(v.get('vae_decoder.tensor')).toMatch(/^attention: head size 512/);
    expect(Number(v.get('vae_decoder.tensor_bytes'))).toBeGreaterThan(2048);
    expect(v.has('vae_decoder.peak_activation_bytes')).toBe(false);
    expect(v.get('text_encoder.peak_bytes')).toBe(String(Number(v.get('weights_bytes')) + Number(v.get('text_encoder.peak_activation_bytes'))));
  });

  it('decodes --images latents at once', async () => {
    const { code, out } = await run(['plan', sdTurbo, '--width', '128', '--height', '128', '--batch', '4', '--images', '2']);
    expect(code).toBe(0);
    const v = values(out);
    expect(v.get('images')).toBe('2');
    expect(v.get('vae_decoder.input')).toBe('[2,4,16,16]');
  });

  it.each([
    [['plan'], 'expects exactly one model folder'],
    [['plan', sdTurbo, 'other'], 'expects exactly one model folder'],
    [['plan', sdTurbo, '--dtype', 'bf16'], '--dtype expects f16, f32, int8 or int4'],
    [['plan', sdTurbo, '--width', 'wide'], '--width expects a number'],
    [['plan', sdTurbo, '--batch', '1.5'], '--batch expects a positive integer'],
    [['plan', sdTurbo, '--height', '0'], '--height expects a positive integer'],
    [['plan', sdTurbo, '--images', '0'], '--images expects a positive integer'],
    [['plan', sdTurbo, '--frobnicate'], 'unknown option --frobnicate'],
  ])('rejects %j with exit code 2 and the usage', async (argv, message) => {
    const { code, err } = await run(argv);
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(err).toContain('Usage: omni-diffusion plan <model-dir>');
  });

  it('fails with exit code 1 and names the missing unet/config.json', async () => {
    const dir = join(scratch, 'empty');
    mkdirSync(dir, { recursive: true });
    const { code, err, out } = await run(['plan', dir]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toContain('PlanError');
    expect(err).toContain(join(dir, 'unet', 'config.json'));
  });

  it('fails with exit code 1 on an image size the model cannot divide', async () => {
    const { code, err } = await run(['plan', sdTurbo, '--width', '500']);
    expect(code).toBe(1);
    expect(err).toContain('width 500 is not a multiple of 8');
  });
});
