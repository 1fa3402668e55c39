import { registerErrorClass } from '../../api/error-registry.js';
import { OmniDiffusionError } from '../../api/errors.js';

/**
 * A tokenizer file is missing, unreadable or malformed: `vocab.json`, `merges.txt`,
 * `tokenizer.json`, `tokenizer_config.json` or `special_tokens_map.json`. `file` names the file
 * (with its folder when the loader knows it); the message names the key, line or field at fault.
 * Code `TOKENIZER_FILE`.
 */
export class TokenizerFileError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'TokenizerFileError', 'TOKENIZER_FILE');
  }

  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** A tokenizer call got arguments it cannot honour (a `maxLength` below 2, an over-long prompt without truncation). Code `TOKENIZER_INPUT_INVALID`. */
export class TokenizerInputError extends TypeError {
  declare readonly code: string;
  static {
    registerErrorClass(this, 'TokenizerInputError', 'TOKENIZER_INPUT_INVALID');
  }

  constructor(message: string) {
    super(message);
    this.name = 'TokenizerInputError';
  }
}
