import { describe, expect, it } from 'vitest';
import { registerErrorClass } from '../../../src/api/error-registry.js';
import { AbortError, ConfigValidationError, OmniDiffusionError, TimeoutError, describeValue, isOmniDiffusionError } from '../../../src/api/errors.js';
import { errorSamples } from '../../helpers/error-samples.js';

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

describe('the error model: one root class with a stable code', () => {
  it('makes every registered class an OmniDiffusionError with its own code, also those that extend TypeError', () => {
    const codes = new Set<string>();
    for (const [cls, err] of errorSamples()) {
      expect(err).toBeInstanceOf(OmniDiffusionError);
      expect(err).toBeInstanceOf(cls);
      expect(isOmniDiffusionError(err)).toBe(true);
      const code = (err as OmniDiffusionError).code;
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      codes.add(code);
    }
    expect(codes.size).toBe(errorSamples().length);
  });

  it('keeps instanceof TypeError for the validation errors (deprecation path) and nothing else leaks in', () => {
    const config = new ConfigValidationError('dtype', 'f64', "'f32'");
    expect(config).toBeInstanceOf(TypeError);
    expect(config).toBeInstanceOf(OmniDiffusionError);
    expect(config).toMatchObject({ name: 'ConfigValidationError', code: 'CONFIG_INVALID' });
    expect(new TypeError('x')).not.toBeInstanceOf(OmniDiffusionError);
    expect(isOmniDiffusionError(new Error('x'))).toBe(false);
    expect(new AbortError('x')).not.toBeInstanceOf(TimeoutError);
    expect(new AbortError('x')).not.toBeInstanceOf(ConfigValidationError);
  });

  it('names classes by registration, not by the class’s (minifiable) name, and gives an unregistered subclass its own name', () => {
    expect(new AbortError('x').name).toBe('AbortError');
    class AppError extends OmniDiffusionError {}
    expect(new AppError('x')).toMatchObject({ name: 'AppError', code: 'ERROR' });
  });

  it('refuses a code that another class owns', () => {
    class Copycat extends OmniDiffusionError {}
    expect(() => registerErrorClass(Copycat, 'Copycat', 'ABORTED')).toThrow(TypeError);
  });
});
