import { registerErrorClass } from '../api/error-registry.js';

/**
 * An `<omni-diffusion>` attribute holds a value the element cannot use. Extends TypeError like
 * the engine's validation errors; `attribute` names the attribute and `value` is its raw text.
 * Code `ELEMENT_ATTRIBUTE_INVALID`.
 */
export class ElementAttributeError extends TypeError {
  declare readonly code: string;
  static {
    registerErrorClass(this, 'ElementAttributeError', 'ELEMENT_ATTRIBUTE_INVALID');
  }

  readonly attribute: string;
  readonly value: string;
  constructor(attribute: string, value: string, expected: string) {
    super(`<omni-diffusion> attribute "${attribute}" = ${JSON.stringify(value)}: expected ${expected}.`);
    this.name = 'ElementAttributeError';
    this.attribute = attribute;
    this.value = value;
  }
}
