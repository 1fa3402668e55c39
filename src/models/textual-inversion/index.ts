export { addTextualInversionTokens, type TextualInversionTokens } from './add-tokens.js';
export { maybeConvertPrompt, multiVectorTokens } from './convert-prompt.js';
export { MAX_EMBEDDING_FILE_BYTES, MAX_EMBEDDING_VECTORS, readEmbeddingFile, type EmbeddingFileFormat, type ReadEmbeddingOptions, type TextualInversionEmbedding } from './embedding-file.js';
export { EmbeddingFileError, EmbeddingPickleError } from './errors.js';
