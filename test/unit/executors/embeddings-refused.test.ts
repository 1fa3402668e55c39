import { describe, expect, it } from 'vitest';
import { DiffusionConfig } from '../../../src/api/config.js';
import { ConfigValidationError } from '../../../src/api/errors.js';
import { HTTPDiffusionExecutor } from '../../../src/executors/http/executor.js';
import { OnnxDiffusionExecutor } from '../../../src/executors/onnx/executor.js';

// Executors that cannot load textual-inversion embeddings refuse a config with them, rather
// than run prompts whose tokens would silently mean something else.
describe('embeddings on executors that do not load them', () => {
  const embeddings = [{ source: './my-style.safetensors', token: '<my-style>' }];

  it('the onnx executor refuses them at init, naming the field', async () => {
    const executor = new OnnxDiffusionExecutor(new DiffusionConfig({ numHosts: 0, modelNameOrPath: './export', embeddings }));
    await expect(Promise.resolve().then(() => executor.initExecutor())).rejects.toMatchObject({ field: 'embeddings' });
    await expect(Promise.resolve().then(() => executor.initExecutor())).rejects.toBeInstanceOf(ConfigValidationError);
  });

  it('the http executor refuses them at init, naming the field', () => {
    const executor = new HTTPDiffusionExecutor(new DiffusionConfig({ numHosts: 0, http: { baseUrl: 'http://127.0.0.1:1', api: 'a1111' }, embeddings }));
    expect(() => executor.initExecutor()).toThrow(ConfigValidationError);
    expect(() => executor.initExecutor()).toThrow(/embeddings/);
  });
});
