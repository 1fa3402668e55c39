import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { parseSafetensorsHeader, type SafetensorsHeader } from '../../../src/io/safetensors-header.js';
import { defaultQuantPolicy, QUANTIZED_DTYPES } from '../../../src/quant/policy.js';
import { quantizeRows } from '../../../src/quant/quantize.js';
import { readQuantizationConfig } from '../../../src/quant/quantization-config.js';
import { groupsPerRow, packedBytes, rowsOf, scaleBytes } from '../../../src/quant/scheme.js';
import { repoRoot } from '../../helpers/fixtures.js';

const TINY = resolve(repoRoot, 'models/tiny-shapes');
const CHECKPOINTS = { text_encoder: 'text_encoder/model.safetensors', unet: 'unet/diffusion_pytorch_model.safetensors' } as const;
const scratch = mkdtempSync(join(tmpdir(), 'quantize-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

function headerOf(path: string): SafetensorsHeader {
  const bytes = readFileSync(path);
  return parseSafetensorsHeader(bytes, path, { fileSize: bytes.byteLength });
}

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe.each([
  { bits: 8, scheme: QUANTIZED_DTYPES.int8 },
  { bits: 4, scheme: QUANTIZED_DTYPES.int4 },
] as const)('omni-diffusion quantize models/tiny-shapes --bits $bits', ({ bits, scheme }) => {
  const out = join(scratch, `int${bits}`);
  let result: { code: number; out: string; err: string };
  beforeAll(async () => {
    result = await run(['quantize', TINY, '--bits', String(bits), '-o', out]);
  });

  it('exits 0 and prints, per component and in total, the weights quantized and the bytes before and after', () => {
    expect(result.code, result.err).toBe(0);
    for (const [component, file] of Object.entries(CHECKPOINTS)) {
      const before = readFileSync(join(TINY, file)).byteLength;
      const after = readFileSync(join(out, file)).byteLength;
      expect(result.out).toMatch(new RegExp(`^${component}: \\d+ weights quantized, ${before} -> ${after} bytes`, 'm'));
    }
    expect(result.out).toMatch(/^total: \d+ weights quantized, \d+ -> \d+ bytes/m);
  });

  it("writes each component's checkpoint under its own name: the modules the default policy selects packed, with _scale tensors, the rest f16", () => {
    const policy = defaultQuantPolicy(scheme);
    for (const [component, file] of Object.entries(CHECKPOINTS)) {
      const input = headerOf(join(TINY, file));
      const output = headerOf(join(out, file));
      const config = readQuantizationConfig(JSON.parse(readFileSync(join(out, component, 'config.json'), 'utf8')) as Record<string, unknown>, 'config.json')!;
      expect(config.scheme).toEqual(scheme);
      const selected = input.entries.filter((e) => policy.select(e.name, e.shape));
      expect(selected.length).toBeGreaterThan(0);
      expect([...config.modules.keys()].sort()).toEqual(selected.map((e) => e.name).sort());
      const byName = new Map(output.entries.map((e) => [e.name, e]));
      expect(output.metadata).toEqual({ format: 'pt' });
      expect(byName.size).toBe(input.entries.length + selected.length);
      for (const e of input.entries) {
        const o = byName.get(e.name)!;
        if (!config.modules.has(e.name)) {
          expect([o.dtype, o.shape]).toEqual(['F16', e.shape]);
          continue;
        }
        expect(config.modules.get(e.name)).toEqual(e.shape);
        const { rows, k } = rowsOf(e.shape);
        expect([o.dtype, o.shape]).toEqual([bits === 8 ? 'I8' : 'U8', [rows, (k * bits) / 8]]);
        const s = byName.get(`${e.name}_scale`)!;
        expect([s.dtype, s.shape]).toEqual(['F16', [rows, groupsPerRow(k, scheme.groupSize)]]);
      }
    }
  });

  it('shrinks the UNet to what the stored weights take: packed values and scales for the modules, f16 for the rest', () => {
    const file = CHECKPOINTS.unet;
    const input = headerOf(join(TINY, file));
    const output = headerOf(join(out, file));
    const policy = defaultQuantPolicy(scheme);
    const expected = input.entries.reduce(
      (n, e) => n + (policy.select(e.name, e.shape) ? packedBytes(e.shape, bits) + scaleBytes(e.shape, scheme.groupSize) : e.end - e.begin),
      0,
    );
    expect(output.dataLength).toBe(expected);
    // Most of the tiny UNet's bytes are in quantized weights: about half of f16 at 8 bits, a quarter at 4.
    const ratio = output.dataLength / input.dataLength;
    expect(ratio).toBeLessThan(bits === 8 ? 0.6 : 0.35);
    expect(ratio).toBeGreaterThan(bits === 8 ? 0.5 : 0.25);
  });

  it('stores exactly the bytes quantizeRows makes of the original weights (a conv and a linear weight)', async () => {
    for (const [file, pick] of [
      [CHECKPOINTS.unet, (shape: readonly number[]) => shape.length === 4],
      [CHECKPOINTS.text_encoder, (shape: readonly number[]) => shape.length === 2],
    ] as const) {
      const original = await readSafetensors({ nodePath: join(TINY, file) });
      const quantized = readFileSync(join(out, file));
      const header = parseSafetensorsHeader(quantized, file);
      const entry = [...original.values()].find((t) => pick(t.shape) && defaultQuantPolicy(scheme).select(t.name, t.shape))!;
      const q = quantizeRows(entry.data as Float32Array, rowsOf(entry.shape).k, scheme);
      const slice = (name: string): Buffer => {
        const e = header.entries.find((x) => x.name === name)!;
        return quantized.subarray(header.dataStart + e.begin, header.dataStart + e.end);
      };
      expect(slice(entry.name).equals(bytesOf(q.words)), entry.name).toBe(true);
      expect(slice(`${entry.name}_scale`).equals(bytesOf(q.scales)), `${entry.name}_scale`).toBe(true);
    }
  });

  it('copies every other file as it is, and adds only quantization_config to the component configs', () => {
    for (const file of ['model_index.json', 'scheduler/scheduler_config.json', 'tokenizer/vocab.json', 'tokenizer/merges.txt', 'tokenizer/tokenizer_config.json', 'tokenizer/special_tokens_map.json']) {
      expect(readFileSync(join(out, file)).equals(readFileSync(join(TINY, file))), file).toBe(true);
    }
    expect(readdirSync(out).sort()).toEqual(readdirSync(TINY).sort());
    for (const component of Object.keys(CHECKPOINTS)) {
      const { quantization_config: q, ...rest } = JSON.parse(readFileSync(join(out, component, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(q).toBeDefined();
      expect(rest).toEqual(JSON.parse(readFileSync(join(TINY, component, 'config.json'), 'utf8')));
    }
  });

  it('refuses to quantize its own output again (the components are already quantized), leaving no output behind', async () => {
    const again = join(scratch, `again-${bits}`);
    const { code, err } = await run(['quantize', out, '--bits', '8', '-o', again]);
    expect(code).toBe(1);
    expect(err).toMatch(/ModelConfigError: .*text_encoder\/config\.json: quantization_config = \[object\] is not supported: expected none/);
    expect(() => readdirSync(again)).toThrow();
  });
});

describe('omni-diffusion quantize: bad input', () => {
  const empty = join(scratch, 'empty-out');
  const full = join(scratch, 'full-out');
  const noIndex = join(scratch, 'no-index');
  beforeAll(() => {
    mkdirSync(empty, { recursive: true });
    mkdirSync(full, { recursive: true });
    writeFileSync(join(full, 'x.txt'), 'x');
    cpSync(join(TINY, 'unet'), join(noIndex, 'unet'), { recursive: true });
  });
  const cases: ReadonlyArray<{ why: string; argv: () => string[]; code: number; message: RegExp }> = [
    { why: '--bits missing', argv: () => ['quantize', TINY, '-o', join(scratch, 'a')], code: 2, message: /needs --bits 8 or --bits 4/ },
    { why: '--bits 3', argv: () => ['quantize', TINY, '--bits', '3', '-o', join(scratch, 'a')], code: 2, message: /--bits expects 8 or 4, got 3/ },
    { why: '--bits 16', argv: () => ['quantize', TINY, '--bits', '16', '-o', join(scratch, 'a')], code: 2, message: /--bits expects 8 or 4, got 16/ },
    { why: '--group 12', argv: () => ['quantize', TINY, '--bits', '8', '--group', '12', '-o', join(scratch, 'a')], code: 2, message: /--group expects a positive multiple of 8, got 12/ },
    { why: '--group 0', argv: () => ['quantize', TINY, '--bits', '4', '--group', '0', '-o', join(scratch, 'a')], code: 2, message: /--group expects a positive multiple of 8, got 0/ },
    { why: '--group -64', argv: () => ['quantize', TINY, '--bits', '4', '--group', '-64', '-o', join(scratch, 'a')], code: 2, message: /--group expects a positive multiple of 8, got -64/ },
    { why: '-o missing', argv: () => ['quantize', TINY, '--bits', '8'], code: 2, message: /needs -o <out-dir>/ },
    { why: 'no model folder', argv: () => ['quantize', '--bits', '8', '-o', join(scratch, 'a')], code: 2, message: /expects exactly one model folder/ },
    { why: 'a model folder that does not exist', argv: () => ['quantize', join(scratch, 'nope'), '--bits', '8', '-o', join(scratch, 'a')], code: 2, message: /is not a folder: quantize reads a local diffusers folder/ },
    { why: 'an output folder that is not empty', argv: () => ['quantize', TINY, '--bits', '8', '-o', full], code: 2, message: /the output folder .* is not empty/ },
    { why: 'an output inside the model', argv: () => ['quantize', TINY, '--bits', '8', '-o', join(TINY, 'q8')], code: 2, message: /is inside the model folder/ },
    { why: 'a folder without model_index.json', argv: () => ['quantize', noIndex, '--bits', '8', '-o', empty], code: 1, message: /DiffusersRepoError: .* is missing "model_index.json"/ },
  ];

  it.each(cases)('$why: exit $code, the message names the cause', async ({ argv, code, message }) => {
    const r = await run(argv());
    expect(r.code, r.err).toBe(code);
    expect(r.err).toMatch(message);
    if (code === 2) expect(r.err).toContain('Usage: omni-diffusion quantize');
    expect(r.out).toBe('');
  });

  it('leaves an empty output folder empty after a failure, and creates no output folder that did not exist', async () => {
    expect(readdirSync(empty)).toEqual([]);
    for (const dir of [join(scratch, 'a'), join(TINY, 'q8')]) expect(() => readdirSync(dir)).toThrow();
  });
});
