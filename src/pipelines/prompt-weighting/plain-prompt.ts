import { parsePromptAttention, PROMPT_BREAK } from './parse-attention.js';
import type { PieceTokenizer } from './weighted-tokens.js';
import type { WindowTokenizer } from './windows.js';

/**
 * A prompt's text when A1111 syntax leaves it plain: one piece of weight 1 (escapes resolved, no
 * `BREAK`) within one window; else null. Such rows take the plain path, so that their
 * embeddings are `promptSyntax: 'plain'`'s bit for bit on every model (lpw puts the padding
 * before EOS, which differs where the pad token is not EOS: SD 2.x's and SDXL's "!").
 */
export function plainPromptText(row: string, tokenizer: PieceTokenizer & WindowTokenizer): string | null {
  const pieces = parsePromptAttention(row, { breaks: true });
  const only = pieces[0]!;
  if (pieces.length !== 1 || only === PROMPT_BREAK || only[1] !== 1) return null;
  const room = tokenizer.modelMaxLength - 2;
  return tokenizer.encode(only[0], room + 1).length <= room ? only[0] : null;
}
