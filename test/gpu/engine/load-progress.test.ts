import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DiffusionEngine, type LoadProgress } from '../../../src/index.js';
import { EngineHost } from '../../../src/host/engine-host.js';
import { exposedHostApi } from '../../../src/host/host-api.js';
import { nodePortEndpoint } from '../../../src/host/node-port.js';
import { withSerializedErrors } from '../../../src/host/remote-errors.js';
import { SharedEngineHost } from '../../../src/host/shared-engine-host.js';
import { fixturePath, repoRoot } from '../../helpers/fixtures.js';
import { writeTaesdRepo } from '../helpers/taesd-repo.js';

const MODEL = resolve(repoRoot, 'models/tiny-shapes');
const WEIGHTS = ['text_encoder/model.safetensors', 'unet/diffusion_pytorch_model.safetensors'];
/** A latent model (4 channels, a VAE): the SD-Turbo tiny pipeline fixture. */
const SDTURBO = fixturePath('pipeline-sdturbo-tiny');
const SDTURBO_WEIGHTS = [...WEIGHTS, 'vae/diffusion_pytorch_model.safetensors'];

/** The load's events, checked for the contract's order and invariants; returns them by status. */
function checkSequence(events: LoadProgress[], weights: readonly string[] = WEIGHTS): Map<string, LoadProgress[]> {
  const statuses = events.map((e) => e.status);
  expect(statuses[0]).toBe('resolve');
  expect(statuses.at(-1)).toBe('ready');
  expect(statuses.filter((s) => s === 'resolve')).toHaveLength(1);
  expect(statuses.filter((s) => s === 'ready')).toHaveLength(1);
  const lastByte = Math.max(statuses.lastIndexOf('download'), statuses.lastIndexOf('cached'));
  expect(statuses.indexOf('compile')).toBeGreaterThan(lastByte);
  const byStatus = new Map<string, LoadProgress[]>();
  for (const e of events) byStatus.set(e.status, [...(byStatus.get(e.status) ?? []), e]);
  const perFile = new Map<string, number>();
  let overall = 0;
  let uploaded = 0;
  for (const e of events) {
    if (e.status === 'download') {
      expect(e.loaded).toBeGreaterThanOrEqual(perFile.get(e.file) ?? 0);
      expect(e.overallLoaded).toBeGreaterThanOrEqual(overall);
      perFile.set(e.file, e.loaded);
      overall = e.overallLoaded;
    }
    if (e.status === 'upload') {
      expect(e.loaded).toBeGreaterThan(uploaded);
      uploaded = e.loaded;
    }
  }
  const uploads = (byStatus.get('upload') ?? []) as Array<Extract<LoadProgress, { status: 'upload' }>>;
  expect(uploads.length).toBeGreaterThan(0);
  // The total is planned from the configs before the first byte; the uploads end exactly there.
  expect(uploads.every((u) => u.total === uploads[0]!.total && u.total !== null && u.loaded <= u.total)).toBe(true);
  expect(uploads.at(-1)!.loaded).toBe(uploads.at(-1)!.total);
  // The kernels a request at the model's defaults dispatches, precompiled: counted up to a total.
  const compiles = (byStatus.get('compile') ?? []) as Array<Extract<LoadProgress, { status: 'compile' }>>;
  expect(compiles.length).toBeGreaterThan(0);
  const lastCompile = compiles.at(-1)!;
  expect(lastCompile.total).toBeGreaterThan(10);
  expect(lastCompile.done).toBe(lastCompile.total);
  for (let i = 1; i < compiles.length; i++) expect(compiles[i]!.done).toBeGreaterThanOrEqual(compiles[i - 1]!.done);
  const ready = events.at(-1) as Extract<LoadProgress, { status: 'ready' }>;
  expect(ready.timings.compileMs).toBeGreaterThan(0);
  const resolveEvent = events[0] as Extract<LoadProgress, { status: 'resolve' }>;
  expect(resolveEvent.files.map((f) => f.file).sort()).toEqual([...weights].sort());
  return byStatus;
}

/** Serves `root` read-only on 127.0.0.1 (GET and HEAD, with Content-Length), as any static host would. */
async function serveFolder(root: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = resolve(root, '.' + decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      const info = path.startsWith(root + sep) ? await stat(path).catch(() => null) : null;
      if (!info?.isFile()) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-length': String(info.size), 'content-type': 'application/octet-stream' });
      if (req.method === 'HEAD') res.end();
      else createReadStream(path).pipe(res);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

async function load(modelNameOrPath: string, worker: boolean, extra: Record<string, unknown> = {}): Promise<LoadProgress[]> {
  const events: LoadProgress[] = [];
  const engine = await DiffusionEngine.create({ modelNameOrPath, dtype: 'f32', gpuLimits: 'default', worker, ...extra }, { onLoadProgress: (e) => events.push(e) });
  await engine.close();
  return events;
}

/** A port whose other end exposes `api` through comlink, as a worker thread's entry does. */
function portTo(api: object): MessageChannel['port2'] {
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(api, nodePortEndpoint(port1));
  return port2;
}

describe('DiffusionEngine.create(config, { onLoadProgress }) on the tiny model (webgpu, Node + Dawn)', () => {
  let cacheDir: string;
  let served: { url: string; server: Server };

  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'omni-load-progress-'));
    served = await serveFolder(MODEL);
  });

  afterEach(() => vi.unstubAllEnvs());

  afterAll(async () => {
    await new Promise((r) => served?.server.close(r));
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('in-process, from the folder: resolve first, the weight files read, upload and compile, ready last', async () => {
    const events = await load(MODEL, false);
    const byStatus = checkSequence(events);
    const files = new Set((byStatus.get('download') ?? []).map((e) => (e as { file: string }).file));
    expect([...files].sort()).toEqual(WEIGHTS);
    const ready = events.at(-1) as Extract<LoadProgress, { status: 'ready' }>;
    expect(ready.timings.totalMs).toBeGreaterThan(0);
    console.log(`load events (folder, in-process): ${events.length}; ${JSON.stringify(ready)}`);
  });

  it('with a TAESD model beside it: its file is resolved and read as taesd/…, and its weights count in the upload total', async () => {
    const taesd = writeTaesdRepo(join(cacheDir, 'taesd'));
    const events = await load(SDTURBO, false, { taesd });
    const file = 'taesd/diffusion_pytorch_model.safetensors';
    const byStatus = checkSequence(events, [...SDTURBO_WEIGHTS, file]);
    const resolved = (events[0] as Extract<LoadProgress, { status: 'resolve' }>).files.find((f) => f.file === file);
    expect(resolved?.bytes).toBe((await stat(join(taesd, 'diffusion_pytorch_model.safetensors'))).size);
    const read = (byStatus.get('download') ?? []).filter((e) => (e as { file: string }).file === file) as Array<Extract<LoadProgress, { status: 'download' }>>;
    expect(read.at(-1)?.loaded).toBe(resolved?.bytes);
    const plain = checkSequence(await load(SDTURBO, false), SDTURBO_WEIGHTS);
    const total = (m: Map<string, LoadProgress[]>): number => (m.get('upload')!.at(-1) as Extract<LoadProgress, { status: 'upload' }>).total!;
    expect(total(byStatus)).toBeGreaterThan(total(plain));
  });

  it('a TAESD whose latent channels are not the UNet\'s fails the load with a ModelConfigError naming its field', async () => {
    const taesd = writeTaesdRepo(join(cacheDir, 'taesd-4ch'));
    // tiny-shapes is a pixel-space model: its UNet works on 3 channels, TAESD decodes 4.
    const err = await load(MODEL, false, { taesd }).then(() => expect.fail('expected a ModelConfigError'), (e: unknown) => e);
    expect(err).toMatchObject({ name: 'ModelConfigError', field: 'latent_channels', value: 4 });
    expect((err as Error).message).toMatch(/taesd-4ch\/config\.json: latent_channels = 4 is not supported: expected 3, the latent channels of .*tiny-shapes's UNet/);
  });

  it('in a worker_threads thread (worker: true): the same sequence crosses the thread boundary', async () => {
    // The thread runs dist/engine-thread.js: `npm run build` first.
    const events = await load(MODEL, true);
    checkSequence(events);
  });

  it('multiproc with two hosts: one stream (host 0), one resolve and one ready, after both hosts loaded', async () => {
    const events = await load(MODEL, false, { executorClass: 'multiproc', numHosts: 2 });
    checkSequence(events);
  });

  it('across a MessageChannel (the thread entry\'s API, in this thread): the events arrive through the comlink proxy, all before ready', async () => {
    const events = await load(MODEL, false, { executorClass: 'external', port: portTo(exposedHostApi(new EngineHost())) });
    checkSequence(events);
  });

  it('a shared host: the client that starts the load gets its events; one that joins gets ready only', async () => {
    const shared = new SharedEngineHost(() => new EngineHost());
    const first: LoadProgress[] = [];
    const second: LoadProgress[] = [];
    const spec = { modelNameOrPath: MODEL, dtype: 'f32' as const, gpuLimits: 'default' as const, executorClass: 'external' };
    const a = await DiffusionEngine.create({ ...spec, port: portTo(withSerializedErrors(shared.connect())) }, { onLoadProgress: (e) => first.push(e) });
    const b = await DiffusionEngine.create({ ...spec, port: portTo(withSerializedErrors(shared.connect())) }, { onLoadProgress: (e) => second.push(e) });
    await a.close();
    await b.close();
    checkSequence(first);
    expect(second.map((e) => e.status)).toEqual(['ready']);
  });

  it('over HTTP from a loopback server: download events carry per-file and overall totals, then the second load is read from the cache', async () => {
    vi.stubEnv('OMNI_DIFFUSION_CACHE', cacheDir);
    const events = await load(served.url, false);
    const byStatus = checkSequence(events);
    const sizes = await Promise.all(WEIGHTS.map(async (f) => (await stat(join(MODEL, f))).size));
    const total = sizes.reduce((a, b) => a + b, 0);
    const downloads = (byStatus.get('download') ?? []) as Array<Extract<LoadProgress, { status: 'download' }>>;
    expect(downloads.length).toBeGreaterThan(0);
    for (const d of downloads) expect(d.total).toBe(sizes[WEIGHTS.indexOf(d.file)]);
    const last = downloads.at(-1)!;
    expect(last.overallLoaded).toBe(total);
    expect(last.overallTotal).toBe(total);
    expect(last.bytesPerSecond).toBeGreaterThan(0);
    const ready = events.at(-1) as Extract<LoadProgress, { status: 'ready' }>;
    expect(ready.downloadedBytes).toBe(total);
    console.log(`load log (http, first load):\n${events.map((e) => JSON.stringify(e)).join('\n')}`);

    // Again: every weight file comes from the cache, as `cached` where the cache says so.
    const again = await load(served.url, false);
    checkSequence(again);
    console.log(`load log (http, second load):\n${again.map((e) => JSON.stringify(e)).join('\n')}`);
    expect(again.filter((e) => e.status === 'cached').map((e) => (e as { file: string }).file).sort()).toEqual(WEIGHTS);
    expect(again.at(-1)).toMatchObject({ downloadedBytes: 0, cachedBytes: total });
    const seen = new Set(again.flatMap((e) => (e.status === 'download' || e.status === 'cached' ? [e.file] : [])));
    expect([...seen].sort()).toEqual(WEIGHTS);
  });
});
