export { CLIPTokenizer } from './clip-tokenizer.js';
export type { CLIPTokenizerCallOptions, CLIPTokenizerFiles } from './clip-tokenizer.js';
export { loadCLIPTokenizer } from './load.js';
export { TokenizerFileError, TokenizerInputError } from './errors.js';
export { AddedTokenVocabulary, type AddedTokenPiece } from './added-tokens.js';
