import { describe, expect, it } from 'vitest';
import { ConfigValidationError, describeValue } from '../../src/errors.js';

describe('describeValue (values quoted in error messages)', () => {
  it('cuts long strings and escapes controls and bidi overrides, so a stranger’s value cannot rewrite the message', () => {
    expect(describeValue('x'.repeat(1000))).toBe(`"${'x'.repeat(80)}… (920 more characters)"`);
    expect(describeValue('evil\u202eexe.png\u001b[2J')).toBe('"evil\\u202Eexe.png\\x1B[2J"');
    expect(new ConfigValidationError('dtype', 'f\u0085x', "'f32'").message).toBe(`Invalid DiffusionConfig.dtype = "f\\x85x": expected 'f32'.`);
  });

  it('names other values by kind, never by content', () => {
    expect(describeValue(Array(5))).toBe('array(5)');
    expect(describeValue(new Map())).toBe('[Map]');
    expect(describeValue({ secret: 'sk-123' })).toBe('[object]');
    expect(describeValue(12n)).toBe('12n');
  });
});
