import { registerErrorClass } from '../../api/error-registry.js';
import { StateDictError } from '../../io/errors.js';
import { safeSnippet } from '../../io/snippet.js';

/**
 * A textual-inversion embedding file cannot be used: no or several candidate tensors, a shape
 * that is not `[vectors, hidden]` or `[hidden]`, a hidden size other than the text encoder's,
 * NaN or infinite values, an empty token, a token the tokenizer already has, an SDXL file whose
 * `clip_l` and `clip_g` differ in vector count or lack one, or a file for another kind of model
 * (one-encoder on SDXL, SDXL on SD 1.x/2.x). `file` names the
 * file and `key` the tensor at fault (null when the fault is no single tensor's).
 * Code `EMBEDDING_FILE_INVALID`.
 */
export class EmbeddingFileError extends StateDictError {
  static {
    registerErrorClass(this, 'EmbeddingFileError', 'EMBEDDING_FILE_INVALID');
  }

  readonly key: string | null;
  constructor(file: string, key: string | null, message: string, options?: { cause?: unknown }) {
    // Keys come from the file: quote a short, escaped piece of a hostile one.
    super(file, `${file}${key === null ? '' : `: tensor "${safeSnippet(key)}"`}: ${message}`, options);
    this.key = key;
  }
}

/**
 * An embedding file is a Python pickle (`.pt`, `.bin`, `.ckpt`, or bytes of a pickle or of
 * torch's zip format): loading one can run arbitrary code, so it is refused unread. The message
 * says how to convert it to safetensors. Code `EMBEDDING_PICKLE_REFUSED`.
 */
export class EmbeddingPickleError extends EmbeddingFileError {
  static {
    registerErrorClass(this, 'EmbeddingPickleError', 'EMBEDDING_PICKLE_REFUSED');
  }

  constructor(file: string, why: string) {
    super(
      file,
      null,
      `${why}. Pickle files can run arbitrary code when loaded, so they are refused. Convert it to safetensors where you trust it, e.g. ` +
        '`python -c "import torch, safetensors.torch as st; d = torch.load(\'in.pt\', weights_only=True); ' +
        "st.save_file({'emb_params': d['string_to_param']['*']}, 'out.safetensors')\"` for an AUTOMATIC1111 .pt " +
        "(for a diffusers learned_embeds.bin: `st.save_file(d, 'learned_embeds.safetensors')`).",
    );
  }
}
