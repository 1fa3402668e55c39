export { addTextualInversionTokens, type TextualInversionTokens } from './add-tokens.js';
export { maybeConvertPrompt, multiVectorTokens } from './convert-prompt.js';
export {
  MAX_EMBEDDING_FILE_BYTES,
  MAX_EMBEDDING_VECTORS,
  readEmbeddingFile,
  readTextualInversionFile,
  type EmbeddingFileFormat,
  type ReadEmbeddingOptions,
  type ReadTextualInversionOptions,
  type TextualInversionEmbedding,
  type TextualInversionFile,
} from './embedding-file.js';
export { EmbeddingFileError, EmbeddingPickleError } from './errors.js';
export { SDXL_EMBEDDING_KEYS, type SdxlHiddenSizes, type SdxlTextualInversionEmbedding } from './sdxl-embedding.js';
