import { describe, expect, it } from 'vitest';
import { MissingWeightError, StateDictError, StateDictMismatchError, WeightShapeError } from '../../../src/io/errors.js';
import { readSafetensors, type SafetensorsTensor } from '../../../src/io/safetensors.js';
import { StateDict } from '../../../src/io/state-dict.js';
import { composeRenames, legacyVaeAttentionRename, stripPrefix } from '../../../src/io/state-dict-renames.js';
import { fixturePath } from '../../helpers/fixtures.js';

function tensor(name: string, shape: number[]): SafetensorsTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype: 'F32', shape, data: Float32Array.from({ length: n }, (_, i) => i) };
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return null;
}

describe('StateDict', () => {
  it('hands out weights of the expected shape and finishes cleanly when all are used', () => {
    const sd = new StateDict([tensor('a.weight', [2, 3]), tensor('a.bias', [2])], 'unet.safetensors');
    expect([...sd.takeFloat32('a.weight', [2, 3])]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sd.take('a.bias', [2]).shape).toEqual([2]);
    expect(() => sd.finish()).not.toThrow();
  });

  it('reports a missing key, naming it and similar keys, and lists it again at finish', () => {
    const sd = new StateDict([tensor('text_model.final_layer_norm.weight', [4])], 'te.safetensors');
    const err = catchError(() => sd.take('final_layer_norm.weight', [4])) as MissingWeightError;
    expect(err).toBeInstanceOf(MissingWeightError);
    expect(err.name).toBe('MissingWeightError');
    expect(err.key).toBe('final_layer_norm.weight');
    expect(err.message).toContain('te.safetensors');
    expect(err.message).toContain('Similar keys: text_model.final_layer_norm.weight');
    const mismatch = catchError(() => sd.finish()) as StateDictMismatchError;
    expect(mismatch).toBeInstanceOf(StateDictMismatchError);
    expect(mismatch.missing).toEqual(['final_layer_norm.weight']);
    expect(mismatch.unexpected).toEqual(['text_model.final_layer_norm.weight']);
  });

  it('reports a wrong shape with the key and both shapes', () => {
    const sd = new StateDict([tensor('conv_in.weight', [32, 4, 3, 3])], 'unet.safetensors');
    const err = catchError(() => sd.take('conv_in.weight', [32, 8, 3, 3])) as WeightShapeError;
    expect(err).toBeInstanceOf(WeightShapeError);
    expect(err.expected).toEqual([32, 8, 3, 3]);
    expect(err.actual).toEqual([32, 4, 3, 3]);
    expect(err.message).toMatch(/"conv_in\.weight" has shape \[32, 4, 3, 3\], but the model's config implies \[32, 8, 3, 3\]/);
  });

  it('lists every unexpected key at finish, except ignored prefixes and patterns', () => {
    const sd = new StateDict(
      [
        tensor('decoder.conv_in.weight', [1]),
        tensor('encoder.conv_in.weight', [1]),
        tensor('quant_conv.weight', [1]),
        tensor('stray.a', [1]),
        tensor('stray.b', [1]),
      ],
      'vae.safetensors',
    );
    sd.take('decoder.conv_in.weight');
    sd.ignore('encoder.').ignore(/^quant_conv\./);
    const err = catchError(() => sd.finish()) as StateDictMismatchError;
    expect(err).toBeInstanceOf(StateDictMismatchError);
    expect(err.unexpected).toEqual(['stray.a', 'stray.b']);
    expect(err.missing).toEqual([]);
    expect(err.message).toContain('2 unexpected: stray.a, stray.b');
  });

  it('refuses a float view of an integer tensor', () => {
    const sd = new StateDict([{ name: 'ids', dtype: 'I64', shape: [2], data: new Int32Array([1, 2]) }], 'te.safetensors');
    expect(() => sd.takeFloat32('ids')).toThrow(StateDictError);
  });

  it('renames keys with a prefix strip, and rejects renames that collide', () => {
    const sd = new StateDict([tensor('text_model.embeddings.token_embedding.weight', [4, 2])], 'te.safetensors');
    sd.rename(stripPrefix('text_model.'));
    expect(sd.take('embeddings.token_embedding.weight', [4, 2]).name).toBe('embeddings.token_embedding.weight');
    const clash = new StateDict([tensor('text_model.x', [1]), tensor('x', [1])], 'te.safetensors');
    expect(() => clash.rename(stripPrefix('text_model.'))).toThrow(/"text_model\.x" and "x" both map to "x"/);
  });

  it('maps legacy VAE attention names and squeezes 1x1 conv weights to Linear', () => {
    const sd = new StateDict(
      [
        tensor('decoder.mid_block.attentions.0.query.weight', [8, 8, 1, 1]),
        tensor('decoder.mid_block.attentions.0.query.bias', [8]),
        tensor('decoder.mid_block.attentions.0.proj_attn.weight', [8, 8]),
        tensor('decoder.mid_block.attentions.0.group_norm.weight', [8]),
        tensor('decoder.conv_in.weight', [8, 4, 1, 1]),
      ],
      'vae.safetensors',
    );
    sd.rename(composeRenames(stripPrefix('vae.'), legacyVaeAttentionRename));
    expect(sd.keys()).toEqual([
      'decoder.mid_block.attentions.0.to_q.weight',
      'decoder.mid_block.attentions.0.to_q.bias',
      'decoder.mid_block.attentions.0.to_out.0.weight',
      'decoder.mid_block.attentions.0.group_norm.weight',
      'decoder.conv_in.weight',
    ]);
    expect(sd.take('decoder.mid_block.attentions.0.to_q.weight', [8, 8]).data).toHaveLength(64);
    expect(sd.take('decoder.conv_in.weight', [8, 4, 1, 1]).shape).toEqual([8, 4, 1, 1]);
  });

  it('rejects a reshape that changes the element count', () => {
    const sd = new StateDict([tensor('w', [2, 2])], 'x.safetensors');
    expect(() => sd.rename((key) => ({ key, shape: [3] }))).toThrow(/element counts differ/);
  });

  it('loads a real checkpoint layout: the VAE decoder keys taken, the encoder ignored', async () => {
    const tensors = await readSafetensors({ nodePath: fixturePath('vae-decoder-tiny', 'model.safetensors') });
    const sd = new StateDict(tensors, 'vae-decoder-tiny/model.safetensors');
    for (const key of sd.keys()) if (key.startsWith('decoder.') || key.startsWith('post_quant_conv.')) sd.take(key, tensors.get(key)!.shape);
    expect(() => sd.finish()).toThrow(StateDictMismatchError);
    sd.ignore('encoder.').ignore('quant_conv.');
    expect(() => sd.finish()).not.toThrow();
  });
});
