import { describe, expect, it } from 'vitest';
import type { LoadProgress } from '../../../src/api/load-progress.js';
import { formatBytes, formatDownload, LoadBar } from '../../../src/cli/load-bar.js';

const FILE = 'unet/diffusion_pytorch_model.safetensors';

function download(overallLoaded: number, overallTotal: number | null, bytesPerSecond = 1e6): LoadProgress {
  return { status: 'download', file: FILE, loaded: overallLoaded, total: overallTotal, resumedBytes: 0, overallLoaded, overallTotal, bytesPerSecond };
}

const READY: LoadProgress = { status: 'ready', timings: { resolveMs: 1, downloadMs: 2000, uploadMs: 500, compileMs: 150, totalMs: 3000 }, downloadedBytes: 100e6, cachedBytes: 0 };

/** Feeds `events` at `dt` ms apart into a bar and returns what it wrote. */
function render(tty: boolean, events: LoadProgress[], dt: number): string {
  let now = 0;
  let text = '';
  const bar = new LoadBar((s) => (text += s), tty, () => now);
  for (const e of events) {
    bar.update(e);
    now += dt;
  }
  bar.finish();
  return text;
}

const hundred = Array.from({ length: 100 }, (_, i) => download((i + 1) * 1e6, 100e6));

describe('LoadBar', () => {
  it.each([
    { bytes: 512, text: '512 B' },
    { bytes: 8_537_622, text: '8.54 MB' },
    { bytes: 1_730_000_000, text: '1.73 GB' },
    { bytes: 123_400_000, text: '123 MB' },
  ])('formats $bytes bytes as $text', ({ bytes, text }) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('formats a download with bytes, speed and ETA, or bytes and speed without a total', () => {
    expect(formatDownload(download(25e6, 100e6, 5e6) as never)).toBe('Downloading [######------------------] 25.0 MB/100 MB  5.00 MB/s  ETA 15.0s');
    expect(formatDownload(download(25e6, null, 0) as never)).toBe('Downloading 25.0 MB  0 B/s');
  });

  it('redraws one line with \\r on a terminal, then ends it with the summary', () => {
    const text = render(true, [{ status: 'resolve', files: [], totalBytes: 100e6 }, ...hundred, { status: 'upload', loaded: 1, total: null }, { status: 'compile', done: 0, total: 38 }, { status: 'compile', done: 38, total: 38 }, READY], 10);
    const lines = text.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]!.split('\r').length).toBeGreaterThan(100);
    expect(lines[0]).toContain('Compiling GPU pipelines: 38/38');
    expect(lines[1]).toBe('Loaded in 3.0s (downloaded 100 MB; download 2.0s, upload 0.50s, compile 0.15s)');
  });

  it.each([
    // 100 events 100 ms apart (10 s): the first, then one a second (each a new tenth, 11% to 91%), and the last.
    { dt: 100, lines: 11 },
    // 100 events 10 ms apart (1 s): the first line, then nothing until a second has passed, and the last.
    { dt: 10, lines: 2 },
  ])('prints plain lines off a terminal, at most one a second and per tenth (events $dt ms apart: $lines lines)', ({ dt, lines }) => {
    const text = render(false, [...hundred, READY], dt);
    expect(text).not.toContain('\r');
    const out = text.trim().split('\n');
    expect(out.filter((l) => l.startsWith('Downloading'))).toHaveLength(lines);
    expect(out.at(-2)).toContain('100 MB/100 MB');
    expect(out.at(-1)).toMatch(/^Loaded in /);
  });

  it('counts cached files on a terminal and reports them in the summary', () => {
    const text = render(true, [{ status: 'cached', file: 'a', bytes: 2e6 }, { status: 'cached', file: 'b', bytes: 3e6 }, { ...READY, downloadedBytes: 0, cachedBytes: 5e6 } as LoadProgress], 10);
    expect(text).toContain('Cached: 2 files, 5.00 MB');
    expect(text).toContain('(downloaded 0 B, cached 5.00 MB;');
  });
});
