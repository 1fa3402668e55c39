/**
 * An `<omni-diffusion>` attribute holds a value the element cannot use. Extends TypeError like
 * the engine's validation errors; `attribute` names the attribute and `value` is its raw text.
 */
export class ElementAttributeError extends TypeError {
  readonly attribute: string;
  readonly value: string;
  constructor(attribute: string, value: string, expected: string) {
    super(`<omni-diffusion> attribute "${attribute}" = ${JSON.stringify(value)}: expected ${expected}.`);
    this.name = 'ElementAttributeError';
    this.attribute = attribute;
    this.value = value;
  }
}
