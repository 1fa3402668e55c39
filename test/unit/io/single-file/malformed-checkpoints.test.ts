import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { OmniDiffusionError } from '../../../../src/api/errors.js';
import { DiffusersRepo } from '../../../../src/io/diffusers-repo.js';
import { SafetensorsError, StateDictError, StateDictMismatchError, WeightShapeError } from '../../../../src/io/errors.js';
import { readSafetensors } from '../../../../src/io/safetensors.js';
import { StateDict } from '../../../../src/io/state-dict.js';
import { CheckpointFormatError } from '../../../../src/io/single-file/errors.js';
import { SingleFileSource } from '../../../../src/io/single-file/single-file-source.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import type { ModelSource } from '../../../../src/io/sources/model-source.js';
import { COMPONENTS } from '../../../../src/models/registry.js';
import { CpuOps } from '../../../helpers/cpu-ops.js';
import { singleFileFixtures } from '../../../helpers/single-file-fixtures.js';
import { chunkedStream } from '../build-safetensors.js';

const [fx] = await singleFileFixtures();
if (!fx) throw new Error('no single_file fixture found');
const configFrom = new LocalFolderSource(fx.configFromDir);
const original = new Uint8Array(await readFile(`${(fx.source as LocalFolderSource).dir}/${fx.checkpoint}`));

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;

/** The checkpoint with its header rewritten by `edit` (the data section kept as is). */
function withHeader(edit: (header: Header) => void): Uint8Array {
  const length = Number(new DataView(original.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(original.subarray(8, 8 + length))) as Header;
  edit(header);
  let text = JSON.stringify(header);
  while (text.length % 8 !== 0) text += ' ';
  const json = new TextEncoder().encode(text);
  const data = original.subarray(8 + length);
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

/** Opens `bytes` as `name` (a picked File, of known size). */
function open(bytes: Uint8Array, name = 'model.safetensors'): Promise<SingleFileSource> {
  return SingleFileSource.open({ source: new BlobSource({ [name]: new Blob([bytes as Uint8Array<ArrayBuffer>]) }), path: name }, { configFrom });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a failure'),
    (err: unknown) => err,
  );
}

describe('single-file checkpoints that are pickles', () => {
  it.each(['model.ckpt', 'model.pt', 'model.pth', 'pytorch_model.bin'])('refuses %s by name before reading a byte', async (name) => {
    const untouchable: ModelSource = {
      id: 'never-read',
      fetchFile: () => Promise.reject(new Error('read')),
      readText: () => Promise.reject(new Error('read')),
    };
    const err = await failure(SingleFileSource.open({ source: untouchable, path: name }, { configFrom }));
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err).toMatchObject({ problem: 'pickle' });
    expect((err as Error).message).toMatch(/arbitrary code/);
    expect((err as Error).message).toMatch(/safetensors/);
  });

  it.each([
    ['a pickle (protocol 2)', Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x05, 0x00, 0x00])],
    ['a pickle (protocol 4)', Uint8Array.from([0x80, 0x04, 0x95, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])],
    ['a zip archive (torch.save)', Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00])],
    ['a 3-byte pickle stub', Uint8Array.from([0x80, 0x05, 0x4e])],
  ])('refuses %s named .safetensors, from its first bytes', async (_, bytes) => {
    const err = await failure(open(bytes));
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err).toMatchObject({ problem: 'pickle' });
  });
});

describe('malformed single-file checkpoints fail with typed errors, before any weight is read', () => {
  it('a huge header length', async () => {
    const bytes = original.slice();
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 50n, true);
    expect(await failure(open(bytes))).toBeInstanceOf(SafetensorsError);
  });

  it('a header length past the end of the file, and a file shorter than the length field', async () => {
    const bytes = original.slice(0, 4096);
    expect(await failure(open(bytes))).toBeInstanceOf(SafetensorsError);
    expect(await failure(open(original.slice(0, 5)))).toBeInstanceOf(SafetensorsError);
  });

  it('truncated data: at open when the size is known, while streaming the component when it is not', async () => {
    const cut = original.slice(0, Math.floor(original.byteLength * 0.6));
    expect(await failure(open(cut))).toBeInstanceOf(SafetensorsError);
    const unsized: ModelSource = {
      id: 'stream',
      fetchFile: async () => ({ stream: chunkedStream(cut, 1 << 16), size: null }),
      readText: () => Promise.reject(new Error('not text')),
    };
    const source = await SingleFileSource.open({ source: unsized, path: 'model.safetensors' }, { configFrom });
    const repo = await DiffusersRepo.open(source);
    const read = async () => {
      for (const c of ['text_encoder', 'unet', 'vae']) await repo.loadWeights(c);
    };
    expect(await failure(read())).toBeInstanceOf(SafetensorsError);
  });

  it('a mapped key with the wrong shape: WeightShapeError naming the diffusers key when the model takes it', async () => {
    const bytes = withHeader((h) => {
      h['first_stage_model.decoder.conv_in.weight']!.shape = [32, 36, 1, 1];
    });
    const repo = await DiffusersRepo.open(await open(bytes));
    const { tensors } = await repo.loadWeights('vae');
    const config = COMPONENTS.vae_decoder.parseConfig(await repo.readConfig('vae'), 'vae/config.json');
    const err = await failure(Promise.resolve().then(() => COMPONENTS.vae_decoder.load(new CpuOps(), config, new StateDict(tensors, 'vae'))));
    expect(err).toBeInstanceOf(WeightShapeError);
    expect(err).toMatchObject({ key: 'decoder.conv_in.weight' });
  });

  it('keys that map to nothing: StateDictMismatchError with the count and the keys', async () => {
    const entries = withHeader((h) => {
      const bias = h['model.diffusion_model.out.2.bias']!;
      delete h['model.diffusion_model.out.2.bias'];
      h['model.diffusion_model.label_emb.0.0.bias'] = bias;
    });
    const mismatch = await failure(open(entries));
    expect(mismatch).toBeInstanceOf(StateDictMismatchError);
    expect((mismatch as StateDictMismatchError).unexpected).toEqual(['model.diffusion_model.label_emb.0.0.bias']);
    expect((mismatch as Error).message).toMatch(/1 of its 965 keys map to no diffusers weight/);
  });

  it('a component missing from the file: StateDictMismatchError naming it', async () => {
    const bytes = withHeader((h) => {
      for (const k of Object.keys(h)) if (k.startsWith('first_stage_model.')) delete h[k];
    });
    const err = await failure(open(bytes));
    expect(err).toBeInstanceOf(StateDictMismatchError);
    expect((err as Error).message).toMatch(/no weights for vae/);
  });

  it('two keys mapping to one diffusers key: StateDictError naming both', async () => {
    // Up block 0 has no attention: its upsampler is `output_blocks.2.1.conv`; `.2.2.conv` is the same slot again.
    const bytes = withHeader((h) => {
      const bias = h['model.diffusion_model.out.2.bias']!;
      delete h['model.diffusion_model.out.2.bias'];
      h['model.diffusion_model.output_blocks.2.2.conv.bias'] = bias;
    });
    const err = await failure(open(bytes));
    expect(err).toBeInstanceOf(StateDictError);
    const message = (err as Error).message;
    expect(message).toContain('"model.diffusion_model.output_blocks.2.1.conv.bias"');
    expect(message).toContain('"model.diffusion_model.output_blocks.2.2.conv.bias"');
    expect(message).toContain(`both map to unet's "up_blocks.0.upsamplers.0.conv.bias"`);
  });

  it('an SGM-layout (SDXL) checkpoint without OpenCLIP ViT-bigG at conditioner.embedders.1: CheckpointFormatError naming what is missing', async () => {
    const bytes = withHeader((h) => {
      for (const k of Object.keys(h)) {
        if (!k.startsWith('cond_stage_model.transformer.')) continue;
        h[k.replace('cond_stage_model.transformer.', 'conditioner.embedders.0.transformer.')] = h[k]!;
        delete h[k];
      }
    });
    const err = await failure(open(bytes));
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err).toMatchObject({ problem: 'unsupported_architecture' });
    expect((err as Error).message).toMatch(/lacks `conditioner\.embedders\.1\.model\.\*`/);
  });

  it('an unknown architecture: CheckpointFormatError naming its key prefixes', async () => {
    const bytes = withHeader((h) => {
      for (const k of Object.keys(h)) {
        if (!k.startsWith('first_stage_model.')) continue;
        h[k.replace('first_stage_model.', 'vae.')] = h[k]!;
        delete h[k];
      }
      for (const k of Object.keys(h)) if (!k.startsWith('vae.')) delete h[k];
    });
    const err = await failure(open(bytes));
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err).toMatchObject({ problem: 'unknown_architecture' });
    expect((err as Error).message).toMatch(/"vae\.decoder"/);
  });

  it('fuzz: random bytes and random corruptions of the header end in a typed error or a clean open, never a crash or a hang', async () => {
    let seed = 22;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const length = Number(new DataView(original.buffer).getBigUint64(0, true));
    for (let round = 0; round < 60; round++) {
      let bytes: Uint8Array;
      if (round % 3 === 0) {
        bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 4000) }, () => Math.floor(random() * 256));
      } else {
        bytes = original.slice(0, round % 3 === 1 ? original.byteLength : 8 + Math.floor(random() * (length + 100_000)));
        for (let i = 0; i < 1 + round; i++) bytes[Math.floor(random() * Math.min(bytes.byteLength, 8 + length))] = Math.floor(random() * 256);
      }
      const outcome = await open(bytes).then(
        () => null,
        (err: unknown) => err,
      );
      if (outcome !== null) expect(outcome, `round ${round}: ${String(outcome)}`).toBeInstanceOf(OmniDiffusionError);
    }
  }, 60_000);
});
