import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';
import { DiffusionEngine } from '../../../src/index.js';
import { createImageServer } from '../../../src/server/index.js';
import { fixturePath } from '../../helpers/fixtures.js';

// The tiny SDXL repos of the shared fixtures, loaded by folder as a Hub id would be.
const sdxl = fixturePath('pipeline-sdxl-tiny');
const turbo = fixturePath('pipeline-sdxl-turbo-tiny');
const scratch = mkdtempSync(join(tmpdir(), 'omni-sdxl-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('SDXL through the CLI', () => {
  it("generate --model <SDXL-Turbo>: the model's defaults: 1 step without guidance at SDXL-Turbo's 512²", async () => {
    const file = join(scratch, 'turbo.png');
    const { code, out, err } = await cli(['generate', 'a photo of a cat', '--model', turbo, '-o', file, '--seed', '1']);
    expect(err).not.toContain('Error');
    expect(code).toBe(0);
    const png = decode(readFileSync(file));
    expect([png.width, png.height]).toEqual([512, 512]);
    expect(out).toMatch(/^time: 1 steps at /m);
  });

  it('generate --model <SDXL base> takes the second prompts and the micro-conditioning, which change the image', async () => {
    const base = ['generate', 'a red fox in the snow', '--model', sdxl, '--steps', '2', '--seed', '5', '--width', '64', '--height', '64', '--dtype', 'f32'];
    const plain = await cli([...base, '-o', join(scratch, 'plain.png')]);
    const styled = await cli([...base, '--prompt-2', 'a woodcut', '--negative-2', 'blurry', '--original-size', '512,512', '--crop-top-left', '8,0', '-o', join(scratch, 'styled.png')]);
    expect([plain.code, styled.code]).toEqual([0, 0]);
    const [a, b] = ['plain.png', 'styled.png'].map((f) => decode(readFileSync(join(scratch, f))));
    expect([a!.width, a!.height]).toEqual([64, 64]);
    expect(Buffer.from(a!.data).equals(Buffer.from(b!.data))).toBe(false);
  });

  it("takes any multiple of 8, outside SDXL's buckets and its UNet's halvings (72x64: a 9-wide latent), and refuses others by name", async () => {
    const wide = await cli(['generate', 'a fox', '--model', turbo, '--width', '72', '--height', '64', '--seed', '1', '-o', join(scratch, 'wide.png')]);
    expect(wide.err).not.toContain('Error');
    expect(wide.code).toBe(0);
    const png = decode(readFileSync(join(scratch, 'wide.png')));
    expect([png.width, png.height]).toEqual([72, 64]);
    const odd = await cli(['generate', 'a fox', '--model', turbo, '--width', '100', '--height', '64', '-o', join(scratch, 'never.png')]);
    expect(odd.code).toBe(2);
    expect(odd.err).toContain('option --width must be a multiple of 8, got 100');
  });

  it('refuses the SDXL options on a model with one text encoder, naming the field', async () => {
    const { code, err } = await cli(['generate', 'x', '--model', fixturePath('pipeline-sdturbo-tiny'), '--prompt-2', 'y', '-o', join(scratch, 'never.png')]);
    expect(code).toBe(1);
    expect(err).toContain('prompt2');
    expect(err).toContain("SDXL's");
  });

  it('serves an SDXL model on /v1/images/generations', async () => {
    const engine = await DiffusionEngine.create({ modelNameOrPath: turbo, dtype: 'f32' });
    const server = createImageServer(engine);
    const url = await server.listen(0);
    try {
      const res = await fetch(`${url}/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'a photo of a cat', size: '64x64', seed: 3 }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: Array<{ b64_json: string }> };
      const png = decode(Buffer.from(body.data[0]!.b64_json, 'base64'));
      expect([png.width, png.height]).toEqual([64, 64]);
    } finally {
      await server.close();
      await engine.close();
    }
  });
});
