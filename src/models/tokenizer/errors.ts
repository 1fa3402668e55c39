import { OmniDiffusionError } from '../../errors.js';

/**
 * A tokenizer file is missing, unreadable or malformed: `vocab.json`, `merges.txt`,
 * `tokenizer.json`, `tokenizer_config.json` or `special_tokens_map.json`. `file` names the file
 * (with its folder when the loader knows it); the message names the key, line or field at fault.
 */
export class TokenizerFileError extends OmniDiffusionError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** A tokenizer call got arguments it cannot honour (a `maxLength` below 2, an over-long prompt without truncation). */
export class TokenizerInputError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerInputError';
  }
}
