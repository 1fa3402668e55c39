import { describe, expect, it } from 'vitest';
import { parseLenientJson } from '../../../../src/io/json.js';
import { CheckpointFormatError } from '../../../../src/io/single-file/errors.js';
import { checkpointPredictionType, withPredictionType } from '../../../../src/io/single-file/prediction-type.js';
import { SingleFileSource } from '../../../../src/io/single-file/single-file-source.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { ldmCheckpointOf } from '../../../helpers/ldm-checkpoint.js';

/** `bytes` (a safetensors file) with `metadata` as its `__metadata__`, header re-padded, data untouched. */
function withMetadata(bytes: Uint8Array, metadata: Record<string, string>): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  header.__metadata__ = { format: 'pt', ...metadata };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const length = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + length + bytes.byteLength - 8 - n).fill(0x20, 8, 8 + length);
  new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + n), 8 + length);
  return out;
}

describe('modelspec.prediction_type', () => {
  it('reads epsilon and v (and diffusers\' v_prediction), null when absent, and refuses anything else naming the key', () => {
    expect(checkpointPredictionType('m.safetensors', { 'modelspec.prediction_type': 'epsilon' })).toBe('epsilon');
    expect(checkpointPredictionType('m.safetensors', { 'modelspec.prediction_type': 'v' })).toBe('v_prediction');
    expect(checkpointPredictionType('m.safetensors', { 'modelspec.prediction_type': 'V_Prediction' })).toBe('v_prediction');
    expect(checkpointPredictionType('m.safetensors', { format: 'pt' })).toBeNull();
    const err = (() => {
      try {
        return checkpointPredictionType('m.safetensors', { 'modelspec.prediction_type': 'flow' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err).toMatchObject({ problem: 'bad_metadata', file: 'm.safetensors' });
    expect((err as Error).message).toMatch(/modelspec\.prediction_type.*"flow".*configFrom/);
  });

  it('patches a scheduler config as text, keeping the bare -Infinity that JSON.stringify would lose', () => {
    const config = '{\n  "_class_name": "DPMSolverMultistepScheduler",\n  "lambda_min_clipped": -Infinity,\n  "prediction_type": "epsilon"\n}\n';
    const patched = withPredictionType(config, 'v_prediction');
    expect(patched).toContain('-Infinity');
    expect(parseLenientJson(patched, 'c')).toMatchObject({ prediction_type: 'v_prediction', lambda_min_clipped: Number.NEGATIVE_INFINITY });
    // Inserted where the config has none, also into an empty object.
    expect(parseLenientJson(withPredictionType('{"beta_start": 0.00085}', 'v_prediction'), 'c')).toEqual({ prediction_type: 'v_prediction', beta_start: 0.00085 });
    expect(parseLenientJson(withPredictionType('{ }', 'epsilon'), 'c')).toEqual({ prediction_type: 'epsilon' });
  });

  describe('through SingleFileSource (pipeline-sd15-tiny as an SD 1.x checkpoint)', () => {
    const base = new LocalFolderSource(fixturePath('pipeline-sd15-tiny'));
    const open = async (metadata: Record<string, string>, configFrom: boolean, asked: string[] = []) => {
      const bytes = withMetadata(await ldmCheckpointOf(base, 'hf'), metadata);
      const checkpoint = { source: new BlobSource({ 'model.safetensors': new Blob([bytes as Uint8Array<ArrayBuffer>]) }), path: 'model.safetensors' };
      return SingleFileSource.open(checkpoint, configFrom ? { configFrom: base } : { openRepo: async (name) => (asked.push(name), base) });
    };
    const predictionOf = async (source: SingleFileSource) => (parseLenientJson(await source.readText('scheduler/scheduler_config.json'), 's') as { prediction_type?: string }).prediction_type;

    it('without configFrom, the metadata decides: the scheduler config is served with it, its size stated right', async () => {
      const source = await open({ 'modelspec.prediction_type': 'v' }, false);
      expect(source.predictionType).toBe('v_prediction');
      expect(await predictionOf(source)).toBe('v_prediction');
      const text = await source.readText('scheduler/scheduler_config.json');
      expect((await source.stat!('scheduler/scheduler_config.json')).size).toBe(new TextEncoder().encode(text).byteLength);
    });

    it("the user's configFrom decides over the metadata", async () => {
      const source = await open({ 'modelspec.prediction_type': 'v' }, true);
      expect(source.predictionType).toBeNull();
      // The fixture's scheduler config says epsilon.
      expect(await predictionOf(source)).toBe('epsilon');
      // A bad value is not read at all when configFrom decides.
      await expect(open({ 'modelspec.prediction_type': 'flow' }, true)).resolves.toBeInstanceOf(SingleFileSource);
      await expect(open({ 'modelspec.prediction_type': 'flow' }, false)).rejects.toMatchObject({ name: 'CheckpointFormatError', problem: 'bad_metadata' });
    });

    it('without metadata, the default repo\'s scheduler config stands', async () => {
      const asked: string[] = [];
      const source = await open({}, false, asked);
      expect(asked).toEqual(['stable-diffusion-v1-5/stable-diffusion-v1-5']);
      expect(source.predictionType).toBeNull();
      expect(await source.readText('scheduler/scheduler_config.json')).toBe(await base.readText('scheduler/scheduler_config.json'));
    });
  });

  it('an SD 2.x file whose metadata says epsilon defaults to the 512 base repo', async () => {
    const sd2 = new LocalFolderSource(fixturePath('pipeline-sdturbo-tiny'));
    const bytes = withMetadata(await ldmCheckpointOf(sd2, 'open_clip'), { 'modelspec.prediction_type': 'epsilon' });
    const asked: string[] = [];
    const source = await SingleFileSource.open(
      { source: new BlobSource({ 'model.safetensors': new Blob([bytes as Uint8Array<ArrayBuffer>]) }), path: 'model.safetensors' },
      { openRepo: async (name) => (asked.push(name), sd2) },
    );
    expect(source.architecture).toBe('sd2');
    expect(asked).toEqual(['stabilityai/stable-diffusion-2-1-base']);
  });
});
