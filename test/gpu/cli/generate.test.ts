import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, type DecodedPng } from 'fast-png';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type CliIO } from '../../../src/cli/args.js';
import { runCli } from '../../../src/cli/main.js';

async function generate(argv: string[], io: Partial<CliIO> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['generate', ...argv], { out: (s) => (out += s), err: (s) => (err += s), ...io });
  return { code, out, err };
}

function readPng(path: string): DecodedPng {
  return decode(readFileSync(path));
}

/** Distinct RGB colours of a decoded PNG: a real picture has many, a failed one (flat, NaN) one. */
function colourCount(png: DecodedPng): number {
  const colours = new Set<number>();
  for (let i = 0; i < png.width * png.height; i++) {
    const o = i * png.channels;
    colours.add((png.data[o]! << 16) | (png.data[o + 1]! << 8) | png.data[o + 2]!);
  }
  return colours.size;
}

const scratch = mkdtempSync(join(tmpdir(), 'omni-generate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('omni-diffusion generate on the bundled tiny model', () => {
  it("writes a 32x32 PNG with the model's defaults (20 steps), printing the file, seed, adapter and times", async () => {
    const file = join(scratch, 'defaults.png');
    const { code, out, err } = await generate(['a red circle on a blue background', '-o', file]);
    expect(err).not.toContain('Error');
    expect(code).toBe(0);
    const png = readPng(file);
    expect([png.width, png.height, png.channels]).toEqual([32, 32, 3]);
    expect(colourCount(png)).toBeGreaterThan(8);
    expect(out).toMatch(new RegExp(`^${file}: 32x32, seed \\d+$`, 'm'));
    expect(out).toMatch(/^adapter: \S.*$/m);
    expect(out).toMatch(/^time: 20 steps at [\d.]+ steps\/s, generation [\d.]+s, load [\d.]+s, total [\d.]+s$/m);
    // Not a terminal: plain progress lines at the quarters, no carriage returns.
    expect(err).not.toContain('\r');
    expect(err.match(/^\[[#-]{24}\] \d+\/20 /gm)).toHaveLength(5);
    // The load, from the engine's load events: the finished weights read as one plain line, then the summary.
    expect(err).toMatch(/^Downloading \[#{24}\] 8\.54 MB\/8\.54 MB {2}\S+ \S+\/s {2}ETA /m);
    expect(err).toMatch(/^Loaded in [\d.]+s \(downloaded 8\.54 MB; download [\d.]+s, upload [\d.]+s, compile [\d.]+s\)$/m);
  });

  it('writes numbered files for --n, with seeds seed + i, into a new folder, and redraws the bar on a terminal', async () => {
    const file = join(scratch, 'sub', 'dir', 'shapes.png');
    const { code, out, err } = await generate(['a small green square on a white background', '-o', file, '--n', '2', '--seed', '3', '--steps', '4'], { errIsTTY: true });
    expect(code).toBe(0);
    const [first, second] = ['shapes-1.png', 'shapes-2.png'].map((name) => readPng(join(scratch, 'sub', 'dir', name)));
    expect([first!.width, first!.height, second!.width, second!.height]).toEqual([32, 32, 32, 32]);
    expect(first!.data).not.toEqual(second!.data);
    expect(out).toContain(`${join(scratch, 'sub', 'dir', 'shapes-1.png')}: 32x32, seed 3\n`);
    expect(out).toContain(`${join(scratch, 'sub', 'dir', 'shapes-2.png')}: 32x32, seed 4\n`);
    expect(out).toMatch(/^time: 4 steps /m);
    expect(err).toContain('\r[');
    expect(err).toMatch(/4\/4 {2}[\d.]+ steps\/s {2}ETA/);
  });

  it('takes size, scheduler, guidance and dtype options, and gives the same image for the same seed', async () => {
    const argv = ['a large yellow triangle on a black background', '--width', '16', '--height', '24', '--scheduler', 'euler', '--guidance', '0', '--steps', '3', '--seed', '11', '--dtype', 'f32'];
    const a = await generate([...argv, '-o', join(scratch, 'a.png')]);
    const b = await generate([...argv, '-o', join(scratch, 'b.png')]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const [pa, pb] = [readPng(join(scratch, 'a.png')), readPng(join(scratch, 'b.png'))];
    expect([pa.width, pa.height]).toEqual([16, 24]);
    expect(pa.data).toEqual(pb.data);
  });

  it('exits with code 2 naming a bad option, before loading anything', async () => {
    const { code, err } = await generate(['x', '--steps', 'lots']);
    expect(code).toBe(2);
    expect(err).toContain('option --steps expects a number, got "lots"');
    expect(err).not.toContain('Loading');
  });

  it('exits with code 1 naming a model folder that does not exist', async () => {
    const missing = join(scratch, 'no-model-here');
    const { code, err } = await generate(['x', '--model', missing, '-o', join(scratch, 'never.png')]);
    expect(code).toBe(1);
    expect(err).toContain(`Model folder ${missing} does not exist`);
  });

  it('exits with code 3 when WebGPU has no adapter, saying how to install a software Vulkan driver', async () => {
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    const { code, err, out } = await generate(['x', '-o', join(scratch, 'never.png')]);
    expect(code).toBe(3);
    expect(out).toBe('');
    expect(err).toContain('ExecutorUnavailableError');
    expect(err).toContain('WebGPU has no adapter');
    expect(err).toContain("echo 'deb http://deb.debian.org/debian bookworm-backports main'");
    expect(err).toContain('apt-get install -t bookworm-backports mesa-vulkan-drivers');
    expect(err).toContain('Mesa 22 from plain Debian bookworm');
  });
});
