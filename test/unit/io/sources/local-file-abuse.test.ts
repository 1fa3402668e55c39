/**
 * Abuse suite (issue 17): local model folders whose files are not what they claim. Each case
 * builds real files in a temp dir: FIFOs (`mkfifo`), a symlink to `/dev/zero`, a socket, files
 * that shrink, grow or exceed the caps while being read.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openNodeFile, readAllBytes } from '../../../../src/io/byte-source.js';
import { NodeFolderCache } from '../../../../src/io/cache-node.js';
import { DiffusersRepo } from '../../../../src/io/diffusers-repo.js';
import { CacheError, FileReadError, FileTooLargeError, NotRegularFileError } from '../../../../src/io/errors.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { MAX_CONFIG_FILE_BYTES, MAX_TEXT_FILE_BYTES } from '../../../../src/io/sources/model-source.js';
import { rejection, within } from '../deadline.js';

/** Long enough for a refusal, short next to a hang: the old code blocked or looped forever on these. */
const DEADLINE_MS = 3000;

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'omni-local-abuse-'));
  mkdirSync(join(dir, 'unet'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function refusedAs(path: string, kind: string): Promise<void> {
  const source = new LocalFolderSource(dir);
  const err = await within(rejection(source.readText(path)), DEADLINE_MS, `reading ${path}`);
  expect(err).toBeInstanceOf(NotRegularFileError);
  expect(err.name).toBe('NotRegularFileError');
  expect((err as NotRegularFileError).kind).toBe(kind);
  expect((err as NotRegularFileError).file).toBe(join(dir, path));
  expect(err.message).toContain(`${join(dir, path)} is a ${kind}, not a regular file`);
}

describe('local files abuse', () => {
  it('refuses a FIFO without blocking on its open (the old code waited forever for a writer)', async () => {
    execFileSync('mkfifo', [join(dir, 'unet/config.json')]);
    await refusedAs('unet/config.json', 'FIFO');
  });

  it('refuses a symlink to /dev/zero (the old code read it one byte at a time, forever)', async () => {
    symlinkSync('/dev/zero', join(dir, 'unet/config.json'));
    await refusedAs('unet/config.json', 'character device');
  });

  it('refuses a directory where a file should be (the old code opened it and failed with EISDIR)', async () => {
    mkdirSync(join(dir, 'unet/config.json'));
    await refusedAs('unet/config.json', 'directory');
  });

  it('refuses a Unix socket (the old code failed with ENXIO)', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'unet/config.json'), resolve));
    try {
      await refusedAs('unet/config.json', 'socket');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses a FIFO in the download cache as a CacheError, without blocking', async () => {
    const cache = new NodeFolderCache(dir);
    const key = 'hf/model/unet/config.json';
    const path = await cache.pathOf(key);
    mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true });
    execFileSync('mkfifo', [path]);
    const err = await within(rejection(cache.get(key)), DEADLINE_MS, 'cache.get on a FIFO');
    expect(err).toBeInstanceOf(CacheError);
    expect(err.cause).toBeInstanceOf(NotRegularFileError);
    expect(err.message).toContain('is a FIFO, not a regular file');
  });

  it('fails with FileReadError when a file shrinks while being read (the old code ended the stream silently, short)', async () => {
    const path = join(dir, 'unet/diffusion_pytorch_model.safetensors');
    // Two read chunks (4 MiB each): the stream may pull the first before the cut, never the second.
    const size = 8 << 20;
    writeFileSync(path, new Uint8Array(size).fill(7));
    const file = await openNodeFile(path);
    expect(file.size).toBe(size);
    truncateSync(path, 100);
    const err = await within(rejection(readAllBytes(file.stream)), DEADLINE_MS, 'reading a truncated file');
    expect(err).toBeInstanceOf(FileReadError);
    expect((err as FileReadError).file).toBe(path);
    expect(err.message).toMatch(new RegExp(`ended at byte (100|${4 << 20}) of the ${size} it had when opened: it was truncated`));
  });

  it('reads a file that grows while being read to its size at open, not byte by byte after it', async () => {
    const path = join(dir, 'unet/config.json');
    writeFileSync(path, '{"a": 1}');
    const { stream, size } = await openNodeFile(path);
    appendFileSync(path, ' '.repeat(4096));
    const bytes = await within(readAllBytes(stream), DEADLINE_MS, 'reading a growing file');
    expect(size).toBe(8);
    expect(new TextDecoder().decode(bytes)).toBe('{"a": 1}');
  });

  it('refuses a config over MAX_CONFIG_FILE_BYTES before reading it (the old code read it whole)', async () => {
    const path = join(dir, 'model_index.json');
    // Sparse: the size is stated without writing the bytes.
    writeFileSync(path, '');
    truncateSync(path, MAX_CONFIG_FILE_BYTES + 1);
    const err = await within(rejection(DiffusersRepo.open(new LocalFolderSource(dir))), DEADLINE_MS, 'opening the repo');
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect(err).toMatchObject({ size: MAX_CONFIG_FILE_BYTES + 1, limit: MAX_CONFIG_FILE_BYTES, file: `file/${dir}/model_index.json` });
    expect(err.message).toContain(`is ${MAX_CONFIG_FILE_BYTES + 1} bytes, over the cap of ${MAX_CONFIG_FILE_BYTES} bytes`);
  });

  it('refuses any text file over MAX_TEXT_FILE_BYTES before reading it (the old code buffered it whole)', async () => {
    mkdirSync(join(dir, 'tokenizer'));
    const path = join(dir, 'tokenizer/vocab.json');
    writeFileSync(path, '');
    truncateSync(path, MAX_TEXT_FILE_BYTES + 1);
    const err = await within(rejection(new LocalFolderSource(dir).readText('tokenizer/vocab.json')), DEADLINE_MS, 'reading vocab.json');
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect(err).toMatchObject({ size: MAX_TEXT_FILE_BYTES + 1, limit: MAX_TEXT_FILE_BYTES });
  });

  it('still reads regular files and symlinks to them', async () => {
    writeFileSync(join(dir, 'real.json'), '{"ok": true}');
    symlinkSync(join(dir, 'real.json'), join(dir, 'unet/config.json'));
    expect(await new LocalFolderSource(dir).readText('unet/config.json')).toBe('{"ok": true}');
  });
});
