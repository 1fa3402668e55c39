import { describe, expect, it } from 'vitest';
import { DiffusersRepo } from '../../../../src/io/diffusers-repo.js';
import { StateDictMismatchError } from '../../../../src/io/errors.js';
import { parseSafetensorsHeader } from '../../../../src/io/safetensors-header.js';
import { componentFile, type ComponentFile } from '../../../../src/io/single-file/component-file.js';
import { openClipKeys } from '../../../../src/io/single-file/open-clip-keys.js';
import { SingleFileSource } from '../../../../src/io/single-file/single-file-source.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { fixturesOfKind } from '../../../helpers/fixture-kind.js';
import { ldmCheckpointOf } from '../../../helpers/ldm-checkpoint.js';
import { sameBits } from '../../../helpers/single-file-fixtures.js';
import { buildSafetensors, chunkedStream } from '../build-safetensors.js';

const blob = (bytes: Uint8Array) => new BlobSource({ 'model.safetensors': new Blob([bytes as Uint8Array<ArrayBuffer>]) });

// The SDXL pipeline fixtures (safetensors weights), found by kind and `pipeline` field: each is
// written back as an SGM-layout checkpoint by the test helper and read through SingleFileSource.
const sdxl = (await fixturesOfKind('pipeline')).filter(({ fx }) => fx.pipeline === 'StableDiffusionXLPipeline' && fx.onnx === null && fx.synthetic === null);

/** Reads a component file made by `componentFile` whole, the checkpoint streamed in chunks of `chunk` bytes. */
async function readComponent(file: ComponentFile, checkpoint: Uint8Array, chunk: number): Promise<Uint8Array> {
  const { stream } = file.open(async () => ({ stream: chunkedStream(checkpoint, chunk), size: checkpoint.byteLength }), 'model.safetensors');
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe('SDXL single-file checkpoints (SGM layout)', () => {
  it('finds the SDXL pipeline fixtures', () => {
    expect(sdxl.map((f) => f.name)).toContain('pipeline-sdxl-tiny');
  });

  it.each(sdxl)('$name: every component, text_encoder_2 with its transposed projection, equals the base repo bit for bit', async ({ path }) => {
    const base = new LocalFolderSource(path);
    const source = await SingleFileSource.open({ source: blob(await ldmCheckpointOf(base, 'sdxl')), path: 'model.safetensors' }, { configFrom: base });
    expect(source.architecture).toBe('sdxl');
    expect(source.weightPaths().sort()).toEqual(['text_encoder/model.safetensors', 'text_encoder_2/model.safetensors', 'unet/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors']);
    const converted = await DiffusersRepo.open(source);
    const reference = await DiffusersRepo.open(base);
    expect(converted.hasComponent('text_encoder_2') && converted.hasComponent('tokenizer_2')).toBe(true);
    for (const component of ['text_encoder', 'text_encoder_2', 'unet', 'vae']) {
      const got = (await converted.loadWeights(component)).tensors;
      const want = (await reference.loadWeights(component)).tensors;
      const wantKeys = [...want.keys()].filter((k) => !k.endsWith('position_ids')).sort();
      expect([...got.keys()].sort(), component).toEqual(wantKeys);
      for (const key of wantKeys) {
        expect(got.get(key)!.shape, `${component}/${key}`).toEqual(want.get(key)!.shape);
        expect(sameBits(got.get(key)!.data, want.get(key)!.data), `${component}/${key}`).toBe(true);
      }
    }
    // The projection is not its own transpose, so a dropped transpose fails the comparison above.
    const projection = (await reference.loadWeights('text_encoder_2')).tensors.get('text_projection.weight')!;
    const [rows, cols] = projection.shape as [number, number];
    const data = projection.data as Float32Array;
    const symmetric = rows === cols && data.every((v, n) => v === data[(n % cols) * cols + Math.floor(n / cols)]);
    expect(symmetric).toBe(false);
  });

  it('componentFile writes a transposed tensor transposed, bit for bit, for F32 and F16, from any chunking', async () => {
    for (const [dtype, bytesPer] of [
      ['F32', 4],
      ['F16', 2],
    ] as const) {
      // A square, non-symmetric [3, 3] matrix between two plain tensors; element (i, j) holds bytes i*16 + j*4 + b.
      const matrix = Uint8Array.from({ length: 9 * bytesPer }, (_, n) => Math.floor(n / bytesPer / 3) * 16 + (Math.floor(n / bytesPer) % 3) * 4 + (n % bytesPer));
      const checkpoint = buildSafetensors([
        { name: 'a', dtype, shape: [2], bytes: Uint8Array.from({ length: 2 * bytesPer }, (_, n) => 200 + n) },
        { name: 'p', dtype, shape: [3, 3], bytes: matrix },
        { name: 'b', dtype, shape: [1], bytes: Uint8Array.from({ length: bytesPer }, (_, n) => 250 + n) },
      ]);
      const header = parseSafetensorsHeader(checkpoint, 'ck');
      const [a, p, b] = ['a', 'p', 'b'].map((n) => header.entries.find((e) => e.name === n)!);
      const file = componentFile(
        [
          { source: b!, key: 'b', shape: [1], begin: b!.begin, end: b!.end },
          { source: p!, key: 'p.weight', shape: [3, 3], begin: p!.begin, end: p!.end, transpose: true },
          { source: a!, key: 'a', shape: [2], begin: a!.begin, end: a!.end },
        ],
        header.dataStart,
      );
      const expected = Uint8Array.from({ length: 9 * bytesPer }, (_, n) => (Math.floor(n / bytesPer) % 3) * 16 + Math.floor(n / bytesPer / 3) * 4 + (n % bytesPer));
      for (const chunk of [1, 5, 1 << 16]) {
        const out = await readComponent(file, checkpoint, chunk);
        expect(out.byteLength).toBe(file.size);
        const parsed = parseSafetensorsHeader(out, 'component');
        const raw = (key: string): number[] => {
          const e = parsed.entries.find((x) => x.name === key)!;
          return [...out.subarray(parsed.dataStart + e.begin, parsed.dataStart + e.end)];
        };
        expect(parsed.entries.find((e) => e.name === 'p.weight')!.shape).toEqual([3, 3]);
        expect(raw('p.weight'), `${dtype}, chunks of ${chunk}`).toEqual([...expected]);
        expect(raw('a')).toEqual(Array.from({ length: 2 * bytesPer }, (_, n) => 200 + n));
        expect(raw('b')).toEqual(Array.from({ length: bytesPer }, (_, n) => 250 + n));
      }
    }
  });

  it('openClipKeys for SDXL: keeps every block of the config and the projection transposed; a block past the config maps to nothing', () => {
    expect(openClipKeys('text_projection', [12, 10], 3, true)).toEqual([{ key: 'text_projection.weight', shape: [10, 12], transpose: true }]);
    expect(openClipKeys('transformer.resblocks.2.ln_1.bias', [12], 3, true)).toEqual([{ key: 'text_model.encoder.layers.2.layer_norm1.bias', shape: [12] }]);
    expect(openClipKeys('transformer.resblocks.3.ln_1.bias', [12], 3, true)).toBeNull();
    expect(openClipKeys('logit_scale', [], 3, true)).toEqual([]);
  });

  it('an extra OpenCLIP block past text_encoder_2\'s num_hidden_layers: StateDictMismatchError naming it', async () => {
    const base = new LocalFolderSource(sdxl[0]!.path);
    const bytes = await ldmCheckpointOf(base, 'sdxl');
    const header = parseSafetensorsHeader(bytes, 'ck');
    const layers = header.entries.filter((e) => /^conditioner\.embedders\.1\.model\.transformer\.resblocks\.\d+\.ln_1\.bias$/.test(e.name)).length;
    const extra = `conditioner.embedders.1.model.transformer.resblocks.${layers}.ln_1.bias`;
    const ln = header.entries.find((e) => e.name === 'conditioner.embedders.1.model.transformer.resblocks.0.ln_1.bias')!;
    const data = bytes.subarray(header.dataStart);
    const entries = header.entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, bytes: data.subarray(e.begin, e.end) }));
    entries.push({ name: extra, dtype: ln.dtype, shape: ln.shape, bytes: data.subarray(ln.begin, ln.end) });
    const err = await SingleFileSource.open({ source: blob(buildSafetensors(entries)), path: 'model.safetensors' }, { configFrom: base }).then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StateDictMismatchError);
    expect((err as StateDictMismatchError).unexpected).toEqual([extra]);
  });
});
