import { applyMeanRestoringWeights } from './mean-restoring.js';
import { promptTokensWithWeights, type PieceTokenizer, type WeightedTokens } from './weighted-tokens.js';
import { MAX_WINDOWS, promptWindows, windowCount, type WindowTokenizer } from './windows.js';

/** A batch of A1111 prompts, parsed, tokenized and cut into the windows the text encoder gets. */
export interface WeightedPromptBatch {
  /** Each row's parsed pieces, tokens and token weights. */
  rows: WeightedTokens[];
  /** k: windows per row, shared by the whole batch. */
  windows: number;
  /** [rows·k, L] (L = `modelMaxLength`): row r's windows are rows r·k … r·k + k − 1. */
  inputIds: Int32Array;
  /** [rows, k·L]: the weight of every position of every row. */
  weights: Float32Array;
}

/** How prompts are read and windowed. */
export interface WeightedPromptOptions {
  /** lpw's `max_embeddings_multiples`: at most this many windows per row (default 3). */
  maxWindows?: number;
  /**
   * Whether A1111's `BREAK` starts a new window (default false: the reference, lpw_stable_diffusion,
   * has no `BREAK` and reads it as a word). The pipeline reads it.
   */
  breaks?: boolean;
  /** At least this many windows (up to `maxWindows`): SDXL's two encoders share one count. */
  minWindows?: number;
}

/**
 * lpw's `get_weighted_text_embeddings` up to the text encoder: every prompt parsed
 * (`parsePromptAttention`) and tokenized piece by piece (`promptTokensWithWeights`, at most
 * `maxWindows` × 75 tokens), the batch's window count taken from its longest row
 * (`windowCount`), and each row cut into windows with its position weights (`promptWindows`).
 */
export function prepareWeightedPrompts(tokenizer: PieceTokenizer & WindowTokenizer, prompts: readonly string[], options: WeightedPromptOptions = {}): WeightedPromptBatch {
  const maxWindows = options.maxWindows ?? MAX_WINDOWS;
  const room = tokenizer.modelMaxLength - 2;
  const breaks = options.breaks ? { room, padId: tokenizer.padTokenId } : undefined;
  const rows = prompts.map((p) => promptTokensWithWeights(tokenizer, p, room * maxWindows, breaks));
  const k = Math.min(maxWindows, Math.max(options.minWindows ?? 1, windowCount(rows.map((r) => r.ids.length), tokenizer, maxWindows)));
  const L = tokenizer.modelMaxLength;
  const inputIds = new Int32Array(rows.length * k * L);
  const weights = new Float32Array(rows.length * k * L);
  rows.forEach((row, r) => {
    const w = promptWindows(row, k, tokenizer);
    inputIds.set(w.ids, r * k * L);
    weights.set(w.weights, r * k * L);
  });
  return { rows, windows: k, inputIds, weights };
}

/** How `encodeWeightedPrompts` runs the text encoder and moves its output through the host. */
export interface WeightedPromptHost<T> {
  /** `last_hidden_state` [n, L, D] of n windows of ids. */
  encodeText(inputIds: Int32Array, n: number): Promise<T> | T;
  read(x: T): Promise<Float32Array>;
  /** A tensor of `data` with `shape`, stored as `like` is (f32 or f16). */
  upload(data: Float32Array, shape: readonly number[], like: T): T;
  release(x: T): void;
}

/** The windows' ids and the weighted `prompt_embeds` [rows, k·L, D] of a batch. */
export interface WeightedPromptEmbeds<T> {
  batch: WeightedPromptBatch;
  embeds: T;
  /** Each row's `m0 / m1` (`applyMeanRestoringWeights`); 1 for a row left as encoded. */
  restoringFactors: number[];
}

/**
 * lpw's `get_weighted_text_embeddings` (`no_boseos_middle` false, no clip skip) for a batch:
 * all windows of all rows encoded in one call, each row's windows joined to [k·L, D], then
 * weighted on the host (`applyMeanRestoringWeights`). A batch of one window and no weight but 1
 * is the encoder's own output, untouched.
 */
export async function encodeWeightedPrompts<T>(
  tokenizer: PieceTokenizer & WindowTokenizer,
  prompts: readonly string[],
  host: WeightedPromptHost<T>,
  options: WeightedPromptOptions = {},
): Promise<WeightedPromptEmbeds<T>> {
  const batch = prepareWeightedPrompts(tokenizer, prompts, options);
  const windows = prompts.length * batch.windows;
  const encoded = await host.encodeText(batch.inputIds, windows);
  if (batch.windows === 1 && batch.weights.every((w) => w === 1)) return { batch, embeds: encoded, restoringFactors: prompts.map(() => 1) };
  try {
    const data = await host.read(encoded);
    const restoringFactors = applyMeanRestoringWeights(data, batch.weights, prompts.length);
    // Windows of a row are consecutive: [rows·k, L, D] is [rows, k·L, D] in memory.
    const positions = batch.windows * tokenizer.modelMaxLength;
    return { batch, embeds: host.upload(data, [prompts.length, positions, data.length / (prompts.length * positions)], encoded), restoringFactors };
  } finally {
    host.release(encoded);
  }
}
