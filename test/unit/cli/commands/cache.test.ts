import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../../../src/cli/commands/cache.js';
import { runCli } from '../../../../src/cli/main.js';
import { readAllBytes } from '../../../../src/io/byte-source.js';
import { CachedModelSource } from '../../../../src/io/cache.js';
import { NodeFolderCache } from '../../../../src/io/cache-node.js';
import { HubSource } from '../../../../src/io/sources/hub-source.js';
import { DownloadServer } from '../../../helpers/download-server.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

let server: DownloadServer;
const dir = mkdtempSync(join(tmpdir(), 'omni-cache-cli-'));

beforeAll(async () => {
  server = await DownloadServer.start();
  server.put('/owner/model/resolve/main/unet/w.bin', new Uint8Array(randomBytes(3000)));
  server.put('/other/model/resolve/main/w.bin', new Uint8Array(randomBytes(10)));
  const cache = new NodeFolderCache(dir);
  const load = async (repo: string, file: string) => {
    const source = new CachedModelSource(new HubSource(repo, { endpoint: server.url }), cache);
    await readAllBytes((await source.fetchFile(file)).stream);
  };
  await load('owner/model', 'unet/w.bin');
  await load('other/model', 'w.bin');
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('omni-diffusion cache', () => {
  it('lists the cached models, one line each, and as JSON', async () => {
    const host = new URL(server.url).host;
    const { code, out, err } = await run(['cache', 'list', '--dir', dir]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out.trim().split('\n').sort();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^hf/${host.replace(/\./g, '\\.')}/owner/model@main  2\\.9 KiB  1 file  last used \\d{4}-`));
    const json = await run(['cache', 'list', '--json', '--dir', dir]);
    const models = JSON.parse(json.out) as { id: string; bytes: number; files: unknown[] }[];
    expect(models.find((m) => m.id.endsWith('owner/model@main'))).toMatchObject({ bytes: 3000, files: [{ path: 'unet/w.bin', bytes: 3000, complete: true }] });
  });

  it('rm deletes a model by repo id, and exits 1 when nothing matches', async () => {
    const { code, out } = await run(['cache', 'rm', 'other/model', '--dir', dir]);
    expect(code).toBe(0);
    expect(out).toMatch(/^deleted hf\/.*\/other\/model@main\n$/);
    const again = await run(['cache', 'rm', 'other/model', '--dir', dir]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/no cached model matches "other\/model"/);
  });

  it('clear deletes everything; bad actions are usage errors (exit 2)', async () => {
    expect((await run(['cache', 'clear', '--dir', dir])).out).toMatch(/^deleted 1 model from /);
    expect((await run(['cache', 'list', '--dir', dir])).out).toMatch(/^No cached models in /);
    for (const argv of [['cache'], ['cache', 'nuke'], ['cache', 'rm'], ['cache', 'list', 'x']]) {
      const r = await run([...argv, '--dir', dir]);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/Usage|usage|cache list/);
    }
  });

  it('formats sizes in binary units', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1.7 * 2 ** 30)).toBe('1.7 GiB');
  });
});
