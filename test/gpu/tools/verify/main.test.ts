import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runVerify } from '../../../../tools/verify/main.js';
import { fixturePath, fixturesDir, repoRoot } from '../../../helpers/fixtures.js';

async function verify(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runVerify(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)!;
}

describe('npm run verify (tools/verify)', () => {
  it.each([
    ['a tokenizer fixture', 'tokenizer-clip'],
    ['a TAESD decoder fixture', 'taesd-decoder'],
    ['a text encoder fixture', 'text-encoder-clip-gelu-tiny'],
    ['a scheduler case file', 'schedulers/dpmpp_2m-leading-epsilon-4.json'],
    ['a pipeline fixture', 'pipeline-sdturbo-tiny'],
    ['an ONNX pipeline fixture, through the onnx executor', 'pipeline-sdturbo-tiny-onnx'],
  ])('passes %s, printing max_abs and rel_l2 per output and PASS last', async (_what, name) => {
    const { code, out } = await verify(fixturePath(name));
    expect(lastLine(out)).toBe('PASS');
    expect(code).toBe(0);
    expect(out).toMatch(/max_abs=\S+ rel_l2=\S+/);
  });

  // The repo's own fixtures: the trained tiny-shapes model (reference outputs from the training
  // code, tools/train-tiny) and the VAE encoder (tools/fixtures/vae_encoder.py, diffusers).
  it.each([
    ['the trained tiny-shapes UNet', 'tiny-shapes-unet'],
    ['the trained tiny-shapes text encoder', 'tiny-shapes-text-encoder'],
    ['a VAE encoder fixture', 'vae-encoder-tiny'],
  ])('passes %s from test/fixtures', async (_what, name) => {
    const { code, out } = await verify(join(repoRoot, 'test/fixtures', name));
    expect(out).toMatch(/max_abs=\S+ rel_l2=\S+/);
    expect(lastLine(out)).toBe('PASS');
    expect(code).toBe(0);
  });

  it('runs the fp16 weights of a UNet fixture with --fp16', async () => {
    const { code, out } = await verify(fixturePath('unet-sd21-tiny'), '--fp16');
    expect(lastLine(out)).toBe('PASS');
    expect(code).toBe(0);
  });

  it('fails with exit 1 and a FAIL line when an output is off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omni-verify-'));
    const src = JSON.parse(await (await import('node:fs/promises')).readFile(join(fixturesDir(), 'schedulers', 'euler-trailing-epsilon-2.json'), 'utf8').then((t) => t.replace(/-?Infinity/g, '0'))) as {
      trajectory: Array<{ prev_sample: number[] }>;
    };
    src.trajectory[0]!.prev_sample = src.trajectory[0]!.prev_sample.map((v) => v + 1);
    const file = join(dir, 'case.json');
    writeFileSync(file, JSON.stringify(src));
    const { code, out } = await verify(file);
    expect(lastLine(out)).toBe('FAIL');
    expect(code).toBe(1);
  });

  it('rejects an unknown kind and a malformed fixture with a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omni-verify-'));
    writeFileSync(join(dir, 'fixture.json'), JSON.stringify({ kind: 'controlnet' }));
    const unknown = await verify(dir);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/fixture\.json.*kind/);
    writeFileSync(join(dir, 'fixture.json'), '{ not json');
    const malformed = await verify(dir);
    expect(malformed.code).toBe(1);
    expect(malformed.err).toMatch(/fixture\.json/);
  });

  it('needs exactly one fixture path', async () => {
    expect((await verify()).code).toBe(2);
  });

  it('runs as `npm run verify` from a checkout, with no build step (tools/verify/bin.mjs)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(repoRoot, 'tools/verify/bin.mjs'), fixturePath('tokenizer-clip')], { cwd: repoRoot });
    expect(lastLine(stdout)).toBe('PASS');
  });
});
