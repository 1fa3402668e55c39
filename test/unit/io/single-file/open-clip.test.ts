import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DiffusersRepo } from '../../../../src/io/diffusers-repo.js';
import { parseSafetensorsHeader } from '../../../../src/io/safetensors-header.js';
import { openClipKeys } from '../../../../src/io/single-file/open-clip-keys.js';
import { SingleFileSource } from '../../../../src/io/single-file/single-file-source.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { ldmCheckpointOf } from '../../../helpers/ldm-checkpoint.js';
import { sameBits, singleFileFixtures } from '../../../helpers/single-file-fixtures.js';

const blob = (bytes: Uint8Array) => new BlobSource({ 'model.safetensors': new Blob([bytes as Uint8Array<ArrayBuffer>]) });

describe('openClipKeys: OpenCLIP text-tower names → CLIPTextModel', () => {
  it('splits in_proj into q, k, v row thirds', () => {
    expect(openClipKeys('transformer.resblocks.1.attn.in_proj_weight', [96, 32], 23)).toEqual([
      { key: 'text_model.encoder.layers.1.self_attn.q_proj.weight', shape: [32, 32], part: { index: 0, of: 3 } },
      { key: 'text_model.encoder.layers.1.self_attn.k_proj.weight', shape: [32, 32], part: { index: 1, of: 3 } },
      { key: 'text_model.encoder.layers.1.self_attn.v_proj.weight', shape: [32, 32], part: { index: 2, of: 3 } },
    ]);
    expect(openClipKeys('transformer.resblocks.0.attn.in_proj_bias', [96], 23)!.map((k) => k.shape)).toEqual([[32], [32], [32]]);
  });

  it('renames the rest, drops the blocks past num_hidden_layers and the contrastive head, and maps nothing unknown', () => {
    expect(openClipKeys('positional_embedding', [77, 32], 23)).toEqual([{ key: 'text_model.embeddings.position_embedding.weight', shape: [77, 32] }]);
    expect(openClipKeys('transformer.resblocks.22.mlp.c_fc.bias', [128], 23)).toEqual([{ key: 'text_model.encoder.layers.22.mlp.fc1.bias', shape: [128] }]);
    expect(openClipKeys('transformer.resblocks.3.ln_2.weight', [32], 23)).toEqual([{ key: 'text_model.encoder.layers.3.layer_norm2.weight', shape: [32] }]);
    expect(openClipKeys('transformer.resblocks.23.attn.in_proj_weight', [96, 32], 23)).toEqual([]);
    expect(openClipKeys('text_projection', [32, 32], 23)).toEqual([]);
    expect(openClipKeys('logit_scale', [], 23)).toEqual([]);
    expect(openClipKeys('transformer.resblocks.0.attn.in_proj_weight', [95, 32], 23)).toBeNull();
    expect(openClipKeys('visual.proj', [32, 32], 23)).toBeNull();
  });
});

describe('ldmCheckpointOf (the test helper) writes what diffusers\' conversion script writes', () => {
  it('the same keys and shapes as the single_file fixture made by the script, from its base repo', async () => {
    const [fx] = await singleFileFixtures();
    const ours = parseSafetensorsHeader(await ldmCheckpointOf(new LocalFolderSource(fx!.configFromDir), 'hf'), 'ours');
    const bytes = new Uint8Array(await readFile(`${(fx!.source as LocalFolderSource).dir}/${fx!.checkpoint}`));
    const script = parseSafetensorsHeader(bytes, 'script');
    const shapes = (h: typeof ours) => Object.fromEntries(h.entries.filter((e) => !e.name.endsWith('position_ids')).map((e) => [e.name, e.shape]));
    expect(shapes(ours)).toEqual(shapes(script));
  });
});

describe('an SD 2.x checkpoint (OpenCLIP text tower), made from pipeline-sdturbo-tiny', () => {
  it('is read as sd2, each component equal to the repo, bit for bit, the extra block and the head dropped', async () => {
    const base = new LocalFolderSource(fixturePath('pipeline-sdturbo-tiny'));
    const bytes = await ldmCheckpointOf(base, 'open_clip');
    const source = await SingleFileSource.open({ source: blob(bytes), path: 'model.safetensors' }, { configFrom: base });
    expect(source.architecture).toBe('sd2');
    const converted = await DiffusersRepo.open(source);
    const reference = await DiffusersRepo.open(base);
    for (const component of ['text_encoder', 'unet', 'vae']) {
      const got = (await converted.loadWeights(component)).tensors;
      const want = (await reference.loadWeights(component)).tensors;
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [key, w] of want) {
        expect(got.get(key)!.shape, key).toEqual(w.shape);
        expect(sameBits(got.get(key)!.data, w.data), key).toBe(true);
      }
    }
  });
});
