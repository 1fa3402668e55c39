import { OmniDiffusionError } from '../errors.js';

/** A memory plan could not be set up: a missing or unreadable config, or bad plan options. The message names the file or option. */
export class PlanError extends OmniDiffusionError {}
