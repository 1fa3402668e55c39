import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExecutorUnavailableError } from '../../../../src/api/errors.js';
import { OnnxModelSignatureError } from '../../../../src/executors/onnx/errors.js';
import { chooseExecutionProvider, createCheckedSession, loadOrt } from '../../../../src/executors/onnx/session.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const vaeDecoder = (): Promise<Uint8Array> => readFile(fixturePath('pipeline-sdturbo-tiny-onnx', 'vae_decoder', 'model.onnx'));

afterEach(() => {
  vi.doUnmock('onnxruntime-web');
  vi.resetModules();
});

describe('chooseExecutionProvider', () => {
  it('runs on wasm in Node, where onnxruntime-web has no WebGPU EP', async () => {
    await expect(chooseExecutionProvider()).resolves.toBe('wasm');
    await expect(chooseExecutionProvider('wasm')).resolves.toBe('wasm');
  });

  it('refuses a forced WebGPU EP in Node with ExecutorUnavailableError', async () => {
    await expect(chooseExecutionProvider('webgpu')).rejects.toBeInstanceOf(ExecutorUnavailableError);
  });
});

describe('loadOrt', () => {
  it('throws ExecutorUnavailableError when onnxruntime-web cannot be imported', async () => {
    vi.doMock('onnxruntime-web', () => {
      throw new Error('Cannot find package onnxruntime-web');
    });
    const fresh = await import('../../../../src/executors/onnx/session.js');
    await expect(fresh.loadOrt()).rejects.toMatchObject({ name: 'ExecutorUnavailableError', message: expect.stringContaining('onnxruntime-web') });
  });

  it('lets the engine fall back when onnxruntime-web cannot be imported', async () => {
    vi.doMock('onnxruntime-web', () => {
      throw new Error('Cannot find package onnxruntime-web');
    });
    const { DiffusionEngine } = await import('../../../../src/index.js');
    const engine = await DiffusionEngine.create({
      executorClass: 'onnx',
      modelNameOrPath: fixturePath('pipeline-sdturbo-tiny-onnx'),
      fallback: 'http',
      http: { baseUrl: 'http://127.0.0.1:9' },
    });
    try {
      expect(engine.executorName).toBe('http');
      expect(engine.fallbackReason).toMatch(/^onnx: .*onnxruntime-web/);
    } finally {
      await engine.close();
    }
  });
});

describe('createCheckedSession', () => {
  it('returns the session and the element type of each input', async () => {
    const ort = await loadOrt();
    const { session, inputTypes } = await createCheckedSession(ort, await vaeDecoder(), 'vae_decoder/model.onnx', 'wasm', {
      inputs: { latent_sample: ['float32'] },
      outputs: ['sample'],
    });
    try {
      expect(inputTypes).toEqual({ latent_sample: 'float32' });
    } finally {
      await session.release();
    }
  });

  it('names the model file and the inputs and outputs it has when the names differ', async () => {
    const ort = await loadOrt();
    const err = await createCheckedSession(ort, await vaeDecoder(), 'unet/model.onnx', 'wasm', {
      inputs: { sample: ['float32'], timestep: ['int64'], encoder_hidden_states: ['float32'] },
      outputs: ['out_sample'],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnnxModelSignatureError);
    expect(err).toMatchObject({ file: 'unet/model.onnx' });
    expect((err as Error).message).toMatch(/^unet\/model\.onnx: expected inputs \[sample, timestep, encoder_hidden_states\].*declares inputs \[latent_sample\] and outputs \[sample\]/);
  });

  it('names an input whose element type cannot be fed', async () => {
    const ort = await loadOrt();
    await expect(
      createCheckedSession(ort, await vaeDecoder(), 'vae_decoder/model.onnx', 'wasm', { inputs: { latent_sample: ['int32', 'int64'] }, outputs: ['sample'] }),
    ).rejects.toThrow('vae_decoder/model.onnx: input "latent_sample" is float32; expected int32 or int64');
  });

  it('wraps bytes that are not an ONNX model in an error naming the file', async () => {
    const ort = await loadOrt();
    await expect(
      createCheckedSession(ort, new TextEncoder().encode('not a model'), 'text_encoder/model.onnx', 'wasm', { inputs: {}, outputs: [] }),
    ).rejects.toThrow(/^text_encoder\/model\.onnx: onnxruntime-web \(wasm\) could not create a session/);
  });
});
