import { describe, expect, expectTypeOf, it } from 'vitest';
import { OBSERVED_ATTRIBUTES, REFLECTED_ATTRIBUTES } from '../../../src/element/attributes.js';
import type { OmniDiffusionElement } from '../../../src/element/element.js';
import { defineReflectedProperties } from '../../../src/element/reflect.js';

/** The attribute methods of an element, over a Map: Node has no DOM. */
class FakeElement {
  readonly attributes = new Map<string, string>();
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  removeAttribute(name: string): void {
    this.attributes.delete(name);
  }
  hasAttribute(name: string): boolean {
    return this.attributes.has(name);
  }
  toggleAttribute(name: string, force?: boolean): boolean {
    const on = force ?? !this.attributes.has(name);
    if (on) this.attributes.set(name, '');
    else this.attributes.delete(name);
    return on;
  }
}
defineReflectedProperties(FakeElement.prototype);
type Reflecting = FakeElement & Record<string, unknown>;

describe('reflected attribute properties', () => {
  it('cover every observed attribute but init-image, whose property also takes pixels', () => {
    expect(Object.keys(REFLECTED_ATTRIBUTES).sort()).toEqual(OBSERVED_ATTRIBUTES.filter((a) => a !== 'init-image').sort());
  });

  it('read text as "" when absent, strings and numbers as null, and a boolean by presence', () => {
    const el = new FakeElement() as Reflecting;
    expect([el.prompt, el.negativePrompt, el.model, el.steps, el.autogenerate]).toEqual(['', '', null, null, false]);
    el.attributes.set('negative-prompt', 'blur');
    el.attributes.set('model', 'owner/name');
    el.attributes.set('guidance', '7.5');
    el.attributes.set('steps', 'two');
    el.attributes.set('seed', ' ');
    el.attributes.set('autogenerate', '');
    expect([el.negativePrompt, el.model, el.guidance, el.steps, el.seed, el.autogenerate]).toEqual(['blur', 'owner/name', 7.5, null, null, true]);
  });

  it('write the attribute as a string, remove it for null or undefined, and toggle a boolean', () => {
    const el = new FakeElement() as Reflecting;
    el.negativePrompt = 'blur';
    el.width = 64;
    el.variant = 'fp16';
    el.autogenerate = true;
    expect(Object.fromEntries(el.attributes)).toEqual({ 'negative-prompt': 'blur', width: '64', variant: 'fp16', autogenerate: '' });
    el.negativePrompt = null;
    el.width = undefined;
    el.autogenerate = false;
    expect(Object.fromEntries(el.attributes)).toEqual({ variant: 'fp16' });
  });

  it('are accessors on the prototype, as class get/set would be', () => {
    const descriptor = Object.getOwnPropertyDescriptor(FakeElement.prototype, 'negativePrompt');
    expect(descriptor).toMatchObject({ configurable: true, enumerable: false });
    expect(typeof descriptor?.get).toBe('function');
    expect(typeof descriptor?.set).toBe('function');
  });

  it('keep their types on the element', () => {
    expectTypeOf<OmniDiffusionElement['prompt']>().toEqualTypeOf<string>();
    expectTypeOf<OmniDiffusionElement['negativePrompt']>().toEqualTypeOf<string>();
    expectTypeOf<OmniDiffusionElement['model']>().toEqualTypeOf<string | null>();
    expectTypeOf<OmniDiffusionElement['steps']>().toEqualTypeOf<number | null>();
    expectTypeOf<OmniDiffusionElement['autogenerate']>().toEqualTypeOf<boolean>();
  });
});
