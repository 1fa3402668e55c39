import { describe, expect, it } from 'vitest';
import { DiffusionConfig } from '../../../src/api/config.js';
import { ConfigValidationError } from '../../../src/api/errors.js';
import { modelSpecOf } from '../../../src/executors/webgpu/options.js';

describe('DiffusionConfig.embeddings', () => {
  it('keeps a list of { source, token? } and hands it to the engine host', () => {
    const file = new File([new Uint8Array(8)], 'b.safetensors');
    const config = new DiffusionConfig({ modelNameOrPath: 'x/y', embeddings: [{ source: '/e/a.safetensors', token: '<a>' }, { source: file }] });
    expect(config.embeddings).toEqual([{ source: '/e/a.safetensors', token: '<a>' }, { source: file }]);
    expect(modelSpecOf(config, 'webgpu').embeddings).toEqual(config.embeddings);
    expect(new DiffusionConfig({}).embeddings).toEqual([]);
    expect(modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'x/y' }), 'webgpu').embeddings).toBeUndefined();
  });

  it.each([
    ['not a list', 'a.safetensors', 'embeddings'],
    ['an entry that is not an object', ['a.safetensors'], 'embeddings[0]'],
    ['no source', [{ token: '<a>' }], 'embeddings[0].source'],
    ['an empty source', [{ source: '' }], 'embeddings[0].source'],
    ['an empty token', [{ source: 'a.safetensors', token: '' }], 'embeddings[0].token'],
    ['a token that is not a string', [{ source: 'a.safetensors' }, { source: 'b.safetensors', token: 3 }], 'embeddings[1].token'],
  ])('refuses %s, naming the field', (_what, embeddings, field) => {
    const err = (() => {
      try {
        return new DiffusionConfig({ embeddings: embeddings as never });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as ConfigValidationError).field).toBe(field);
  });
});
