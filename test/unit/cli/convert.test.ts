import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';
import { DiffusersRepo } from '../../../src/io/diffusers-repo.js';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { COMPONENTS } from '../../../src/models/registry.js';
import { StateDict } from '../../../src/io/state-dict.js';
import { decodeHalf, encodeHalf } from '../../../src/webgpu/half.js';
import { CpuOps } from '../../helpers/cpu-ops.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { ldmCheckpointOf } from '../../helpers/ldm-checkpoint.js';
import { sameBits, singleFileFixtures } from '../../helpers/single-file-fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'convert-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const fixtures = await singleFileFixtures();

describe.each(fixtures.map((fx) => ({ name: fx.file, fx })))('omni-diffusion convert, $name', ({ fx }) => {
  const out = join(scratch, 'converted');
  let result: { code: number; out: string; err: string };
  beforeAll(async () => {
    result = await run(['convert', `${(fx.source as LocalFolderSource).dir}/${fx.checkpoint}`, '--config-from', fx.configFromDir, '-o', out]);
  });

  it('exits 0 and writes the diffusers layout', () => {
    expect(result.code, result.err).toBe(0);
    for (const file of ['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors', 'vae/config.json', 'vae/diffusion_pytorch_model.safetensors', 'text_encoder/config.json', 'text_encoder/model.safetensors', 'tokenizer/vocab.json', 'tokenizer/merges.txt', 'tokenizer/tokenizer_config.json', 'scheduler/scheduler_config.json']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    expect(result.out).toMatch(/^wrote \d+ files/m);
  });

  it("loads as a diffusers repo whose weights equal the base repo's, rounded like the checkpoint", async () => {
    const converted = await DiffusersRepo.open(new LocalFolderSource(out));
    const base = await DiffusersRepo.open(new LocalFolderSource(fx.configFromDir));
    for (const component of ['text_encoder', 'unet', 'vae']) {
      const got = (await converted.loadWeights(component)).tensors;
      const want = (await base.loadWeights(component)).tensors;
      const keys = [...want.keys()].filter((k) => !k.endsWith('position_ids')).sort();
      expect([...got.keys()].sort()).toEqual(keys);
      for (const key of keys) {
        const w = want.get(key)!.data as Float32Array;
        expect(got.get(key)!.shape, key).toEqual(want.get(key)!.shape);
        expect(sameBits(got.get(key)!.data, fx.checkpointDtype === 'F16' ? decodeHalf(encodeHalf(w)) : w), key).toBe(true);
      }
    }
    // And the models build from it: the text encoder, taking every weight with the shape its config implies.
    const config = COMPONENTS.text_encoder.parseConfig(await converted.readConfig('text_encoder'), 'text_encoder/config.json');
    const dict = new StateDict((await converted.loadWeights('text_encoder')).tensors, 'text_encoder');
    COMPONENTS.text_encoder.load(new CpuOps(), config, dict).release();
  });
});

describe('omni-diffusion convert, an SDXL checkpoint (SGM layout) made from pipeline-sdxl-tiny', () => {
  it('writes text_encoder_2 and tokenizer_2 too, listed in model_index.json, the weights equal to the base repo\'s', async () => {
    const base = fixturePath('pipeline-sdxl-tiny');
    const checkpoint = join(scratch, 'sd_xl.safetensors');
    writeFileSync(checkpoint, await ldmCheckpointOf(new LocalFolderSource(base), 'sdxl'));
    const out = join(scratch, 'converted-sdxl');
    const result = await run(['convert', checkpoint, '--config-from', base, '-o', out]);
    expect(result.code, result.err).toBe(0);
    for (const file of ['text_encoder_2/config.json', 'text_encoder_2/model.safetensors', 'tokenizer_2/vocab.json', 'tokenizer_2/merges.txt', 'tokenizer_2/tokenizer_config.json']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    const converted = await DiffusersRepo.open(new LocalFolderSource(out));
    expect(converted.hasComponent('text_encoder_2') && converted.hasComponent('tokenizer_2')).toBe(true);
    const reference = await DiffusersRepo.open(new LocalFolderSource(base));
    for (const component of ['text_encoder', 'text_encoder_2', 'unet', 'vae']) {
      const got = (await converted.loadWeights(component)).tensors;
      const want = (await reference.loadWeights(component)).tensors;
      const keys = [...want.keys()].filter((k) => !k.endsWith('position_ids')).sort();
      expect([...got.keys()].sort(), component).toEqual(keys);
      for (const key of keys) expect(sameBits(got.get(key)!.data, want.get(key)!.data), `${component}/${key}`).toBe(true);
    }
  });
});

describe('omni-diffusion convert: bad input', () => {
  it('refuses a pickle checkpoint before writing anything', async () => {
    const ckpt = join(scratch, 'model.ckpt');
    writeFileSync(ckpt, Uint8Array.from([0x80, 0x02, 0x7d]));
    const target = join(scratch, 'never');
    const r = await run(['convert', ckpt, '--config-from', fixtures[0]!.configFromDir, '-o', target]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/CheckpointFormatError|arbitrary code/);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a non-empty output folder and a missing -o', async () => {
    const busy = join(scratch, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'x'), 'x');
    const fx = fixtures[0]!;
    const path = `${(fx.source as LocalFolderSource).dir}/${fx.checkpoint}`;
    expect((await run(['convert', path, '--config-from', fx.configFromDir, '-o', busy])).code).toBe(2);
    expect(readdirSync(busy)).toEqual(['x']);
    expect((await run(['convert', path])).code).toBe(2);
    expect(readFileSync(join(busy, 'x'), 'utf8')).toBe('x');
  });
});
