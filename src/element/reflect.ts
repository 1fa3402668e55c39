import { REFLECTED_ATTRIBUTES } from './attributes.js';

type Reflected = typeof REFLECTED_ATTRIBUTES;

/** `negative-prompt` → `negativePrompt`. */
type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

interface ValueOfKind {
  text: string;
  string: string | null;
  number: number | null;
  boolean: boolean;
}

/** The element properties that mirror its attributes, typed from {@link REFLECTED_ATTRIBUTES}. */
export type ReflectedProperties = { -readonly [A in keyof Reflected as CamelCase<A>]: ValueOfKind[Reflected[A]] };

/** What the accessors need of an element; an `HTMLElement` has all of it. */
type AttributeHost = Pick<Element, 'getAttribute' | 'setAttribute' | 'removeAttribute' | 'hasAttribute' | 'toggleAttribute'>;

/** The attribute as a finite number; null when absent, blank or not a number. */
export function numberAttribute(host: AttributeHost, name: string): number | null {
  const raw = host.getAttribute(name);
  if (raw === null || raw.trim() === '') return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}

/** Sets the attribute to `String(value)`, or removes it for null (and undefined, from script). */
export function writeAttribute(host: AttributeHost, name: string, value: unknown): void {
  if (value === null || value === undefined) host.removeAttribute(name);
  else host.setAttribute(name, String(value));
}

type Kind = Reflected[keyof Reflected];

/** How each kind reads its attribute; writing is the same for all but `boolean`. */
const READ: { [K in Kind]: (host: AttributeHost, name: string) => ValueOfKind[K] } = {
  text: (host, name) => host.getAttribute(name) ?? '',
  string: (host, name) => host.getAttribute(name),
  number: numberAttribute,
  boolean: (host, name) => host.hasAttribute(name),
};

/**
 * Defines on `prototype` one getter/setter pair per {@link REFLECTED_ATTRIBUTES} entry, the way
 * `get`/`set` in a class body would (configurable, not enumerable). The class declares the
 * matching {@link ReflectedProperties} through an interface of the same name.
 */
export function defineReflectedProperties(prototype: AttributeHost): void {
  for (const [attribute, kind] of Object.entries(REFLECTED_ATTRIBUTES) as [string, Kind][]) {
    const property = attribute.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const read = READ[kind];
    Object.defineProperty(prototype, property, {
      configurable: true,
      enumerable: false,
      get(this: AttributeHost) {
        return read(this, attribute);
      },
      set(this: AttributeHost, value: unknown) {
        if (kind === 'boolean') this.toggleAttribute(attribute, value as boolean);
        else writeAttribute(this, attribute, value);
      },
    });
  }
}
