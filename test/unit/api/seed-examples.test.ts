/**
 * The examples of ../shared/seed/custom-executors.md, in TypeScript with camelCase names.
 * Each `describe` is one example of the doc.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DiffusionConfig,
  DiffusionEngine,
  DiffusionRequest,
  ExecutorResolutionError,
  HTTPDiffusionExecutor,
  MultiProcDiffusionExecutor,
  WebGPUDiffusionExecutor,
  resolveExecutor,
  type DiffusionConfigOptions,
} from '../../../src/index.js';
import RemoteAPIExecutor, { BadExecutor, CustomExecutor } from '../fixtures/custom-executors.js';

const FIXTURE_MODULE = './test/unit/fixtures/custom-executors.ts';

describe('Example 1: default executor, no configuration', () => {
  it('picks the webgpu executor when executorClass is left out', async () => {
    const config = new DiffusionConfig({ modelClassName: 'StableDiffusionPipeline', modelNameOrPath: 'tiny', numGpus: 2 });
    expect(config.executorClass).toBe('webgpu');
    expect((await resolveExecutor(config.executorClass)).cls).toBe(WebGPUDiffusionExecutor);
  });
});

describe('Example 2: custom executor via a string path', () => {
  it('loads "<module>#<Export>" and runs it', async () => {
    const engine = await DiffusionEngine.create({ modelClassName: 'StableDiffusionPipeline', numGpus: 1, executorClass: `${FIXTURE_MODULE}#CustomExecutor` });
    expect(engine.executor).toBeInstanceOf(CustomExecutor);
    expect(engine.executorName).toBe(`${FIXTURE_MODULE}#CustomExecutor`);
    const [out] = await engine.step([{ prompt: 'hello' }]);
    expect(out!.images).toHaveLength(1);
    await engine.close();
  });
});

describe('Example 2b: shorthand names', () => {
  it.each(['multiproc', 'mp', 'external', 'http'])('accepts "%s"', async (shorthand) => {
    const config = new DiffusionConfig({ numGpus: 2, executorClass: shorthand });
    const { cls } = await resolveExecutor(config.executorClass);
    expect(cls.name).toMatch(/DiffusionExecutor$/);
  });

  it('maps multiproc and mp to the same class', async () => {
    expect((await resolveExecutor('mp')).cls).toBe((await resolveExecutor('multiproc')).cls);
  });
});

describe('Example 3: custom executor via class import', () => {
  it('uses the class directly', async () => {
    const engine = await DiffusionEngine.create({ numGpus: 1, executorClass: CustomExecutor });
    expect(engine.executor).toBeInstanceOf(CustomExecutor);
    await engine.close();
  });
});

describe('Example 4: HTTP remote executor by class', () => {
  it('accepts HTTPDiffusionExecutor as a class with no local GPUs', async () => {
    const config = new DiffusionConfig({ numGpus: 0, executorClass: HTTPDiffusionExecutor, http: { baseUrl: 'http://127.0.0.1:8000' } });
    expect(config.executorClass).toBe(HTTPDiffusionExecutor);
    expect(config.numGpus).toBe(0);
    expect((await resolveExecutor(config.executorClass)).name).toBe('http');
  });
});

describe('Example 5: a simple custom executor calling a remote API', () => {
  let server: Server;
  let url: string;
  const bodies: unknown[] = [];
  const auth: Array<string | undefined> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/health') {
        res.writeHead(200).end('ok');
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const parsed = JSON.parse(body) as { requests: Array<{ prompt: string }> };
        bodies.push(parsed);
        auth.push(req.headers.authorization);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ images: parsed.requests.map((r) => [r.prompt.length, 1, 2, 255]) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('runs through the engine, by default-export specifier and by class', async () => {
    for (const executorClass of [FIXTURE_MODULE, RemoteAPIExecutor]) {
      const engine = await DiffusionEngine.create({ modelClassName: 'StableDiffusionPipeline', executorClass, remoteUrl: url, apiToken: 'tok' });
      const outputs = await engine.step([{ prompt: 'abc', requestId: 'a' }, { prompt: 'abcdef' }]);
      expect(outputs.map((o) => Array.from(o.images[0]!.data))).toEqual([
        [3, 1, 2, 255],
        [6, 1, 2, 255],
      ]);
      expect(await engine.collectiveRpc('anything')).toEqual([true]);
      await engine.checkHealth();
      await engine.close();
    }
    expect(auth).toEqual(['Bearer tok', 'Bearer tok']);
    expect(bodies[0]).toMatchObject({ requests: [{ prompt: 'abc', requestId: 'a' }, { prompt: 'abcdef' }] });
  });
});

describe('Example 6: conditional executor selection', () => {
  it.each([true, false])('picks the class from the environment (useCloud=%s)', async (useCloud) => {
    const executor = useCloud ? CustomExecutor : MultiProcDiffusionExecutor;
    const config = new DiffusionConfig({ numGpus: executor === MultiProcDiffusionExecutor ? 2 : 0, executorClass: executor });
    expect(config.numGpus).toBe(useCloud ? 0 : 2);
    expect((await resolveExecutor(config.executorClass)).cls).toBe(executor);
  });
});

describe('Example 7: executor with a custom config subclass', () => {
  class MyConfig extends DiffusionConfig {
    declare remoteUrl: string;
    declare apiToken: string;
    declare timeout: number;
    constructor(options: DiffusionConfigOptions = {}) {
      super({ remoteUrl: 'http://localhost:8000', apiToken: '', timeout: 300, ...options });
    }
  }

  class SeesConfig extends CustomExecutor {
    seenConfig: Record<string, unknown> = {};
    override initExecutor(): void {
      super.initExecutor();
      this.seenConfig = { remoteUrl: this.config.remoteUrl, apiToken: this.config.apiToken, timeout: this.config.timeout };
    }
  }

  it('lets passed values win over the subclass defaults, and the executor reads them', async () => {
    const config = new MyConfig({
      modelClassName: 'StableDiffusionPipeline',
      executorClass: SeesConfig,
      remoteUrl: 'https://my-inference-server.com',
      apiToken: 'secret-token',
      timeout: 600,
    });
    expect(config.remoteUrl).toBe('https://my-inference-server.com');
    const engine = await DiffusionEngine.create(config);
    expect((engine.executor as SeesConfig).seenConfig).toEqual({ remoteUrl: 'https://my-inference-server.com', apiToken: 'secret-token', timeout: 600 });
    expect(engine.config).toBe(config);
    await engine.close();
  });

  it('keeps the defaults when nothing is passed', () => {
    const config = new MyConfig();
    expect([config.remoteUrl, config.apiToken, config.timeout]).toEqual(['http://localhost:8000', '', 300]);
  });
});

describe('Error handling section', () => {
  it('invalid type → TypeError', () => {
    expect(() => new DiffusionConfig({ executorClass: 123 as never })).toThrow(TypeError);
  });

  it('invalid string path → ExecutorResolutionError when the engine resolves it', async () => {
    await expect(DiffusionEngine.create({ executorClass: 'nonexistent.Module' })).rejects.toBeInstanceOf(ExecutorResolutionError);
  });

  it('not a DiffusionExecutor subclass → TypeError', () => {
    expect(() => new DiffusionConfig({ executorClass: BadExecutor as never })).toThrow(TypeError);
  });
});
