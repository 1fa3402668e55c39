import { OmniDiffusionElement } from './element.js';

/** Registers `<omni-diffusion>` (or `tagName`); a second call with the same name does nothing. */
export function defineOmniDiffusion(tagName = 'omni-diffusion'): typeof OmniDiffusionElement {
  const existing = customElements.get(tagName);
  if (existing) return existing as typeof OmniDiffusionElement;
  // A subclass per extra tag name: one constructor cannot be registered twice.
  const cls = tagName === 'omni-diffusion' ? OmniDiffusionElement : class extends OmniDiffusionElement {};
  customElements.define(tagName, cls);
  return cls;
}

declare global {
  interface HTMLElementTagNameMap {
    'omni-diffusion': OmniDiffusionElement;
  }
}
