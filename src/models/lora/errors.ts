import { registerErrorClass } from '../../api/error-registry.js';
import { OmniDiffusionError } from '../../api/errors.js';
import { safeSnippet } from '../../io/snippet.js';

/**
 * A LoRA file is malformed or in a form this library does not read: `file` names it, `key` the
 * tensor at fault when there is one. Code `LORA_FILE_INVALID`.
 */
export class LoraFileError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'LoraFileError', 'LORA_FILE_INVALID');
  }

  readonly file: string;
  readonly key: string | null;
  constructor(file: string, key: string | null, message: string, options?: { cause?: unknown }) {
    super(`${file}${key === null ? '' : `: "${safeSnippet(key, 200)}"`}: ${message}`, options);
    this.file = file;
    this.key = key;
  }
}

/**
 * A LoRA's modules do not all match the model's layers (another base model: an SDXL LoRA on
 * SD 1.5, say): nothing of it is applied. Code `LORA_MISMATCH`.
 */
export class LoraMismatchError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'LoraMismatchError', 'LORA_MISMATCH');
  }

  readonly file: string;
  /** Modules of the LoRA that found their layer, and how many it has. */
  readonly matched: number;
  readonly total: number;
  /** A few modules that did not match, with why. */
  readonly unmatched: readonly string[];
  constructor(file: string, matched: number, total: number, unmatched: readonly string[]) {
    super(
      `${file}: ${matched} of the LoRA's ${total} modules match this model's layers, so it is not for this model (another base, e.g. SDXL on SD 1.5) and nothing of it was applied. Not matched: ${unmatched.map((u) => safeSnippet(u, 160)).join('; ')}.`,
    );
    this.file = file;
    this.matched = matched;
    this.total = total;
    this.unmatched = unmatched;
  }
}
