import { describe, expect, it } from 'vitest';
import { ModelConfigError } from '../../../src/models/errors.js';
import {
  parseQuantizationConfig,
  prequantizedPolicy,
  quantizationConfigJson,
  readQuantizationConfig,
  QUANT_FORMAT_VERSION,
  QUANT_METHOD,
} from '../../../src/quant/quantization-config.js';
import { stripPrefix } from '../../../src/io/state-dict-renames.js';

const FILE = 'model/unet/config.json';
const K = 'down_blocks.0.resnets.0.conv1.weight';

/** A valid config; each case below breaks one field. */
function good(): Record<string, unknown> {
  return {
    quant_method: QUANT_METHOD,
    format_version: QUANT_FORMAT_VERSION,
    bits: 8,
    group_size: 128,
    scheme: 'symmetric',
    scale_dtype: 'float16',
    modules: { [K]: [32, 16, 3, 3], 'mid_block.attentions.0.proj_in.weight': [64, 64] },
  };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return expect.fail('expected a throw');
}

describe('parseQuantizationConfig', () => {
  it('reads the scheme and the modules with their logical shapes, in order', () => {
    const parsed = parseQuantizationConfig(good(), FILE);
    expect(parsed.scheme).toEqual({ bits: 8, groupSize: 128 });
    expect([...parsed.modules]).toEqual([
      [K, [32, 16, 3, 3]],
      ['mid_block.attentions.0.proj_in.weight', [64, 64]],
    ]);
  });

  it('round-trips what quantizationConfigJson writes (int4, group 64, no modules too)', () => {
    const json = quantizationConfigJson({ bits: 4, groupSize: 64 }, [[K, [32, 16, 3, 3]]]);
    expect(json).toEqual({ ...good(), bits: 4, group_size: 64, modules: { [K]: [32, 16, 3, 3] } });
    expect(parseQuantizationConfig(JSON.parse(JSON.stringify(json)), FILE).modules.get(K)).toEqual([32, 16, 3, 3]);
    expect(parseQuantizationConfig(quantizationConfigJson({ bits: 8, groupSize: 8 }, []), FILE).modules.size).toBe(0);
  });

  const modulesField = `quantization_config.modules[${JSON.stringify(K)}]`;
  const cases: ReadonlyArray<{ why: string; config: unknown; field: string }> = [
    { why: 'not an object (null)', config: null, field: 'quantization_config' },
    { why: 'not an object (an array)', config: [], field: 'quantization_config' },
    { why: 'not an object (a string)', config: 'int8', field: 'quantization_config' },
    { why: 'another quant_method (bitsandbytes)', config: { ...good(), quant_method: 'bitsandbytes' }, field: 'quantization_config.quant_method' },
    { why: 'no quant_method', config: { ...good(), quant_method: undefined }, field: 'quantization_config.quant_method' },
    { why: 'an unknown format_version', config: { ...good(), format_version: 2 }, field: 'quantization_config.format_version' },
    { why: 'format_version as a string', config: { ...good(), format_version: '1' }, field: 'quantization_config.format_version' },
    { why: 'bits 3', config: { ...good(), bits: 3 }, field: 'quantization_config.bits' },
    { why: 'bits 16', config: { ...good(), bits: 16 }, field: 'quantization_config.bits' },
    { why: 'bits "8"', config: { ...good(), bits: '8' }, field: 'quantization_config.bits' },
    { why: 'group_size 0', config: { ...good(), group_size: 0 }, field: 'quantization_config.group_size' },
    { why: 'group_size -8', config: { ...good(), group_size: -8 }, field: 'quantization_config.group_size' },
    { why: 'group_size 12 (not a multiple of 8)', config: { ...good(), group_size: 12 }, field: 'quantization_config.group_size' },
    { why: 'group_size 64.5', config: { ...good(), group_size: 64.5 }, field: 'quantization_config.group_size' },
    { why: 'group_size missing', config: { ...good(), group_size: undefined }, field: 'quantization_config.group_size' },
    { why: 'scheme "asymmetric"', config: { ...good(), scheme: 'asymmetric' }, field: 'quantization_config.scheme' },
    { why: 'scale_dtype "bfloat16"', config: { ...good(), scale_dtype: 'bfloat16' }, field: 'quantization_config.scale_dtype' },
    { why: 'modules missing', config: { ...good(), modules: undefined }, field: 'quantization_config.modules' },
    { why: 'modules as a list', config: { ...good(), modules: [K] }, field: 'quantization_config.modules' },
    { why: 'a module shape that is not a list', config: { ...good(), modules: { [K]: 'conv' } }, field: modulesField },
    { why: 'an empty module shape', config: { ...good(), modules: { [K]: [] } }, field: modulesField },
    { why: 'a fractional dimension', config: { ...good(), modules: { [K]: [32, 16.5, 3, 3] } }, field: modulesField },
    { why: 'a zero dimension', config: { ...good(), modules: { [K]: [32, 0, 3, 3] } }, field: modulesField },
    { why: 'a dimension as a string', config: { ...good(), modules: { [K]: [32, '16', 3, 3] } }, field: modulesField },
    { why: 'a shape int8 cannot pack (rows of 6)', config: { ...good(), modules: { [K]: [32, 6] } }, field: modulesField },
    { why: 'a shape int4 cannot pack (rows of 12)', config: { ...good(), bits: 4, group_size: 64, modules: { [K]: [32, 12] } }, field: modulesField },
    { why: 'a rank-1 shape (rows of 1 value)', config: { ...good(), modules: { [K]: [32] } }, field: modulesField },
  ];

  it.each(cases)('refuses $why with a ModelConfigError naming the file and $field', ({ config, field }) => {
    const err = thrown(() => parseQuantizationConfig(config, FILE));
    expect(err).toBeInstanceOf(ModelConfigError);
    const e = err as ModelConfigError;
    expect(e.file).toBe(FILE);
    expect(e.field).toBe(field);
    expect(e.message).toContain(FILE);
    expect(e.message).toContain(field);
  });

  it("names a shape the scheme cannot pack, and why, in the message", () => {
    const e = thrown(() => parseQuantizationConfig({ ...good(), bits: 4, group_size: 64, modules: { [K]: [32, 12] } }, FILE)) as ModelConfigError;
    expect(e.message).toContain('[32, 12]');
    expect(e.message).toMatch(/rows of 12 values do not fill whole 4-bit words/);
  });
});

describe('readQuantizationConfig', () => {
  it('is null for a config without quantization_config, and checks one that has it', () => {
    expect(readQuantizationConfig({ _class_name: 'UNet2DConditionModel' }, FILE)).toBeNull();
    expect(readQuantizationConfig({ quantization_config: good() }, FILE)?.scheme.bits).toBe(8);
    expect(thrown(() => readQuantizationConfig({ quantization_config: null }, FILE))).toBeInstanceOf(ModelConfigError);
  });
});

describe('prequantizedPolicy', () => {
  it("selects exactly the config's modules, by checkpoint key and by the model's renamed key, under its scheme", () => {
    const config = parseQuantizationConfig({ ...good(), modules: { 'text_model.encoder.layers.0.mlp.fc1.weight': [256, 64] } }, FILE);
    const policy = prequantizedPolicy(config, stripPrefix('text_model.'));
    expect(policy.scheme).toEqual({ bits: 8, groupSize: 128 });
    expect(policy.select('text_model.encoder.layers.0.mlp.fc1.weight', [256, 64])).toBe(true);
    expect(policy.select('encoder.layers.0.mlp.fc1.weight', [256, 64])).toBe(true);
    expect(policy.select('encoder.layers.0.mlp.fc2.weight', [64, 256])).toBe(false);
    expect(policy.fallback('encoder.layers.0.mlp.fc2.weight', [64, 256])).toBeNull();
  });
});
