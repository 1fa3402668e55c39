import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, QuantizedWeightError, type DiffusionImage, type DiffusionRequestInit, type LoadProgress } from '../../../src/index.js';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { StableDiffusionPipeline } from '../../../src/pipelines/stable-diffusion.js';
import { warmupJobs } from '../../../src/pipelines/warmup-jobs.js';
import { QUANTIZED_DTYPES } from '../../../src/quant/policy.js';
import { runCli } from '../../../src/cli/main.js';
import { parseSafetensorsHeader } from '../../../src/io/safetensors-header.js';
import { fixturePath, repoRoot } from '../../helpers/fixtures.js';
import { gpuContext } from '../helpers/device.js';
import { buildSafetensors, type BuildEntry } from '../../unit/io/build-safetensors.js';

const TINY = resolve(repoRoot, 'models/tiny-shapes');
const UNET = 'unet/diffusion_pytorch_model.safetensors';
const scratch = mkdtempSync(join(tmpdir(), 'prequantized-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Two seeded requests at the model's defaults (32×32, 20 DDIM steps, guidance 2). */
const REQUESTS = [
  { prompt: 'a red circle on a blue background', seed: 11 },
  { prompt: 'a large yellow triangle, purple background', seed: 12 },
];

async function quantize(bits: 8 | 4, model = TINY, name = `int${bits}`): Promise<string> {
  const out = join(scratch, name);
  let err = '';
  const code = await runCli(['quantize', model, '--bits', String(bits), '-o', out], { out: () => undefined, err: (s) => (err += s) });
  expect(code, err).toBe(0);
  return out;
}

/** The images of `REQUESTS` on a fresh engine, closed after; its load's events too. */
async function generate(
  modelNameOrPath: string,
  dtype?: 'int8' | 'int4' | 'f32',
  requests: readonly DiffusionRequestInit[] = REQUESTS,
): Promise<{ images: DiffusionImage[]; events: LoadProgress[] }> {
  const events: LoadProgress[] = [];
  const engine = await DiffusionEngine.create({ modelNameOrPath, ...(dtype ? { dtype } : {}) }, { onLoadProgress: (e) => events.push(e) });
  try {
    const outputs = await engine.step([...requests]);
    return {
      images: outputs.map((o) => {
        if (o.error) throw new Error(o.error);
        return o.images[0]!;
      }),
      events,
    };
  } finally {
    await engine.close();
  }
}

/** The upload events' last count and total. */
function uploaded(events: readonly LoadProgress[]): { loaded: number; total: number | null } {
  const last = events.filter((e): e is Extract<LoadProgress, { status: 'upload' }> => e.status === 'upload').at(-1)!;
  return { loaded: last.loaded, total: last.total };
}

/**
 * A copy of the int8 folder whose UNet checkpoint is rebuilt with `edit` applied to its tensors
 * (raw bytes), to make it disagree with its `quantization_config`.
 */
function brokenCopy(good: string, name: string, edit: (entries: BuildEntry[]) => BuildEntry[]): string {
  const dir = join(scratch, name);
  cpSync(good, dir, { recursive: true });
  const bytes = readFileSync(join(good, UNET));
  const header = parseSafetensorsHeader(bytes, UNET);
  const entries = header.entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, bytes: bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end) }));
  writeFileSync(join(dir, UNET), buildSafetensors(edit(entries), { metadata: { format: 'pt' } }));
  return dir;
}

/** A quantized UNet weight of the int8 folder: its key and logical shape, from its config. */
function firstModule(dir: string): { key: string; shape: number[] } {
  const config = JSON.parse(readFileSync(join(dir, 'unet/config.json'), 'utf8')) as { quantization_config: { modules: Record<string, number[]> } };
  const [key, shape] = Object.entries(config.quantization_config.modules).find(([, s]) => s.length === 4)!;
  return { key, shape };
}

describe('pre-quantized repos (omni-diffusion quantize) load as the on-the-fly quantization does (tiny-shapes, Dawn)', () => {
  const folders = new Map<8 | 4, string>();
  beforeAll(async () => {
    folders.set(8, await quantize(8));
    folders.set(4, await quantize(4));
  });

  it.each([
    [8, 'int8'],
    [4, 'int4'],
  ] as const)('the int%i folder generates images bit-identical to tiny-shapes loaded with dtype %s', async (bits, dtype) => {
    const pre = await generate(folders.get(bits)!);
    const fly = await generate(TINY, dtype);
    expect(pre.images).toHaveLength(2);
    pre.images.forEach((image, i) => {
      const other = fly.images[i]!;
      expect([image.width, image.height]).toEqual([other.width, other.height]);
      expect(Buffer.from(image.data).equals(Buffer.from(other.data)), `image ${i}`).toBe(true);
    });
    // The upload total is planned with exactly the config's modules quantized, and reached.
    const up = uploaded(pre.events);
    expect(up.loaded).toBe(up.total);
    expect(up).toEqual(uploaded(fly.events));
  });

  it("loads the repo's own quantization whatever dtype is asked for (int4 or f32 on the int8 folder), and it is quantized", async () => {
    const plain = await generate(folders.get(8)!);
    for (const dtype of ['int4', 'f32'] as const) {
      const asked = await generate(folders.get(8)!, dtype);
      expect(uploaded(asked.events)).toEqual(uploaded(plain.events));
    }
    // Against the f16 weights: fewer bytes on the device, and other images.
    const f16 = await generate(TINY);
    expect(uploaded(plain.events).total!).toBeLessThan(uploaded(f16.events).total!);
    expect(plain.images.some((image, i) => !Buffer.from(image.data).equals(Buffer.from(f16.images[i]!.data)))).toBe(true);
  });

  it('refuses a tensor whose packed shape disagrees with bits 8 (the int4 shape), and a missing _scale, naming file, tensor and field; the next engine loads', async () => {
    const good = folders.get(8)!;
    const { key, shape } = firstModule(good);
    const k = shape.slice(1).reduce((a, b) => a * b, 1);
    const cases = [
      {
        dir: brokenCopy(good, 'int4-shape', (entries) => entries.map((e) => (e.name === key ? { ...e, shape: [shape[0]!, k / 2], bytes: e.bytes.subarray(0, e.bytes.byteLength / 2) } : e))),
        tensor: key,
        field: 'shape',
        expected: `[${shape[0]}, ${k}]`,
        actual: `[${shape[0]}, ${k / 2}]`,
      },
      { dir: brokenCopy(good, 'no-scale', (entries) => entries.filter((e) => e.name !== `${key}_scale`)), tensor: `${key}_scale`, field: 'missing', expected: `F16 [${shape[0]}, ${Math.ceil(k / 128)}]`, actual: null },
    ];
    for (const c of cases) {
      const err = await DiffusionEngine.create({ modelNameOrPath: c.dir }).then(
        async (engine) => {
          await engine.close();
          return expect.fail(`expected ${c.dir} to fail`);
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(QuantizedWeightError);
      const q = err as QuantizedWeightError;
      expect({ file: q.file, tensor: q.tensor, field: q.field, expected: q.expected, actual: q.actual }).toEqual({
        file: `file/${c.dir}/${UNET}`,
        tensor: c.tensor,
        field: c.field,
        expected: c.expected,
        actual: c.actual,
      });
      expect(q.message).toContain(c.tensor);
      expect(q.message).toContain(UNET);
    }
    const again = await generate(good);
    expect(again.images).toHaveLength(2);
  });
});

describe('pre-quantized repos: dry run and VAE', () => {
  it('the dry run plans the quantized kernels: after precompiling, a request at the defaults compiles nothing (int4 folder)', async () => {
    const dir = await quantize(4, TINY, 'int4-precompile');
    const rt = (await gpuContext()).runtime;
    const pipeline = await StableDiffusionPipeline.load(new LocalFolderSource(dir), rt, { dtype: 'f16', activations: 'f16' });
    try {
      const jobs = warmupJobs(pipeline);
      await rt.precompile(await pipeline.kernelsFor(jobs));
      const before = rt.stats.pipelinesCompiled;
      await pipeline.generate({ ...jobs[0]!, numInferenceSteps: 4, prompt: 'a green square', seed: 5 });
      expect(rt.stats.pipelinesCompiled - before).toBe(0);
    } finally {
      pipeline.release();
    }
  });

  it('SD-Turbo tiny (f32 checkpoints, with a VAE) at 8 bits: text-to-image and img2img (the VAE encoder streamed on demand) bit-identical to dtype int8', async () => {
    const model = fixturePath('pipeline-sdturbo-tiny');
    const dir = await quantize(8, model, 'sdturbo-int8');
    const vae = JSON.parse(readFileSync(join(dir, 'vae/config.json'), 'utf8')) as { quantization_config: { group_size: number; modules: Record<string, number[]> } };
    expect(vae.quantization_config.group_size).toBe(QUANTIZED_DTYPES.int8.groupSize);
    expect(Object.keys(vae.quantization_config.modules).some((k) => k.startsWith('encoder.'))).toBe(true);
    const base = { prompt: 'a red fox in the snow', numInferenceSteps: 2, guidanceScale: 0 };
    const text = await generate(dir, undefined, [{ ...base, seed: 1 }]);
    const init = text.images[0]!;
    const requests = [{ ...base, seed: 1 }, { ...base, seed: 2, image: { width: init.width, height: init.height, data: init.data }, strength: 0.5 }];
    const pre = await generate(dir, undefined, requests);
    const fly = await generate(model, 'int8', requests);
    pre.images.forEach((image, i) => expect(Buffer.from(image.data).equals(Buffer.from(fly.images[i]!.data)), `image ${i}`).toBe(true));
    expect(uploaded(pre.events)).toEqual(uploaded(fly.events));
    expect(uploaded(pre.events).loaded).toBe(uploaded(pre.events).total);
  });

  it('SDXL tiny at 4 bits: both text encoders and the UNet quantized ahead of time, bit-identical to dtype int4, with guidance', async () => {
    const model = fixturePath('pipeline-sdxl-tiny');
    const dir = await quantize(4, model, 'sdxl-int4');
    const te2 = JSON.parse(readFileSync(join(dir, 'text_encoder_2/config.json'), 'utf8')) as { quantization_config?: { modules: Record<string, number[]> } };
    // Its hidden width is 12: only the rows of mlp.fc2 (32 wide) pack into int4's groups of 8; the rest stay f16.
    expect(Object.keys(te2.quantization_config?.modules ?? {}).some((k) => k.includes('mlp.fc2'))).toBe(true);
    // text_projection feeds the UNet's added embedding unnormalised: kept f16 (`defaultQuantPolicy`).
    expect(Object.keys(te2.quantization_config!.modules).some((k) => k.includes('text_projection'))).toBe(false);
    const requests = [{ prompt: 'a red fox in the snow', negativePrompt: 'blurry', numInferenceSteps: 2, guidanceScale: 5, width: 64, height: 64, seed: 3 }];
    const pre = await generate(dir, undefined, requests);
    const fly = await generate(model, 'int4', requests);
    expect(Buffer.from(pre.images[0]!.data).equals(Buffer.from(fly.images[0]!.data))).toBe(true);
    expect(uploaded(pre.events)).toEqual(uploaded(fly.events));
  });
});
