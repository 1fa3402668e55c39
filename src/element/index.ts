/**
 * The `<omni-diffusion>` element. Importing this module registers the tag; it is also the
 * entry of the standalone bundle `dist/omni-diffusion.element.js`.
 */
import { defineOmniDiffusion } from './define.js';

export { OmniDiffusionElement } from './element.js';
export type { OmniDiffusionAttribute, OmniDiffusionState } from './element.js';
export { defineOmniDiffusion } from './define.js';
export { ElementAttributeError } from './errors.js';
export { acquireEngine, engineOptionsOf, sharedEngineCount } from './engine-registry.js';
export type { EngineFactory, EngineKey, EngineLease } from './engine-registry.js';
export { imageToPngBlob } from './image-blob.js';
export type { OmniDiffusionEventMap, OmniErrorDetail, OmniFallbackDetail, OmniImageDetail, OmniProgressDetail, OmniTimings } from './events.js';

defineOmniDiffusion();
