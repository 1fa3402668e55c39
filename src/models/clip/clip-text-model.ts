import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import type { StateDict } from '../../io/state-dict.js';
import { stripPrefix } from '../../io/state-dict-renames.js';
import { ModelInputError } from '../errors.js';
import { LayerNorm, Linear } from '../layers.js';
import { moveReshape, swap } from '../lifetime.js';
import { ModelWeights, type WeightOptions } from '../weights.js';
import type { LoraTarget } from '../lora/adapter.js';
import type { AddedTokenEmbeddings } from './added-token-embeddings.js';
import type { CLIPTextConfig } from './config.js';

/**
 * What one call returns; every tensor in it is the caller's to release.
 * transformers' names: `last_hidden_state`, `pooler_output`, `hidden_states[-2]`, `text_embeds`.
 */
export interface CLIPTextOutput<T> {
  /** [B, L, hidden]: the last layer's output after `final_layer_norm`. */
  lastHiddenState: T;
  /** [B, hidden]: `lastHiddenState` at one position per row (see `poolPositions`). */
  poolerOutput: T;
  /**
   * [B, L, hidden], only when asked for (`penultimate: true`): transformers' `hidden_states[-2]`,
   * the output of all layers but the last, without `final_layer_norm`. SDXL conditions on it.
   */
  penultimateHiddenState?: T;
  /**
   * [B, projection_dim], only from a `CLIPTextModelWithProjection` (`config.withProjection`):
   * `text_projection(poolerOutput)`, SDXL's pooled text embedding.
   */
  textEmbeds?: T;
}

/** What `CLIPTextModel.forward` computes beyond its two standard outputs. */
export interface CLIPTextForwardOptions<T extends TensorLike = TensorLike> extends CLIPTextInputOptions<T> {
  /** Also return `penultimateHiddenState` (kept from the same run: no extra layer). */
  penultimate?: boolean;
}

/** How token ids are embedded. */
export interface CLIPTextInputOptions<T extends TensorLike = TensorLike> {
  /**
   * Rows for ids past the vocabulary (textual-inversion tokens), starting at `vocab_size`.
   * Without it every id must be inside the vocabulary.
   */
  addedTokens?: AddedTokenEmbeddings<T>;
}

/** One pre-LayerNorm encoder layer: causal self-attention, then the MLP, each residual. */
class CLIPEncoderLayer<T extends TensorLike> {
  private constructor(
    private readonly norm1: LayerNorm<T>,
    private readonly q: Linear<T>,
    private readonly k: Linear<T>,
    private readonly v: Linear<T>,
    private readonly out: Linear<T>,
    private readonly norm2: LayerNorm<T>,
    private readonly fc1: Linear<T>,
    private readonly fc2: Linear<T>,
    private readonly c: CLIPTextConfig,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, c: CLIPTextConfig): CLIPEncoderLayer<T> {
    const d = c.hiddenSize;
    return new CLIPEncoderLayer(
      LayerNorm.load(w, `${prefix}.layer_norm1`, d, c.layerNormEps),
      Linear.load(w, `${prefix}.self_attn.q_proj`, d, d),
      Linear.load(w, `${prefix}.self_attn.k_proj`, d, d),
      Linear.load(w, `${prefix}.self_attn.v_proj`, d, d),
      Linear.load(w, `${prefix}.self_attn.out_proj`, d, d),
      LayerNorm.load(w, `${prefix}.layer_norm2`, d, c.layerNormEps),
      Linear.load(w, `${prefix}.mlp.fc1`, d, c.intermediateSize),
      Linear.load(w, `${prefix}.mlp.fc2`, c.intermediateSize, d),
      c,
    );
  }

  /** Consumes `x` [B, L, hidden]. */
  forward(ops: TensorOps<T>, x: T): T {
    const n = this.norm1.forward(ops, x);
    const q = this.q.forward(ops, n);
    const k = this.k.forward(ops, n);
    const v = this.v.forward(ops, n);
    ops.release(n);
    let a = ops.attention(q, k, v, { heads: this.c.numAttentionHeads, causal: true });
    ops.release(q);
    ops.release(k);
    ops.release(v);
    a = swap(ops, a, this.out.forward(ops, a));
    x = swap(ops, x, ops.add(x, a));
    ops.release(a);

    let h = this.norm2.forward(ops, x);
    h = swap(ops, h, this.fc1.forward(ops, h, this.c.hiddenAct));
    h = swap(ops, h, this.fc2.forward(ops, h));
    x = swap(ops, x, ops.add(x, h));
    ops.release(h);
    return x;
  }
}

/**
 * transformers' `CLIPTextModel` as Stable Diffusion calls it: no attention mask, a causal mask,
 * `final_layer_norm`, and the pooled output at the EOS position. With `config.withProjection` it
 * is `CLIPTextModelWithProjection` (SDXL's text_encoder_2), which also projects the pooled output.
 */
export class CLIPTextModel<T extends TensorLike> {
  private constructor(
    readonly config: CLIPTextConfig,
    private readonly ops: TensorOps<T>,
    private readonly weights: ModelWeights<T>,
    private readonly tokenEmbedding: T,
    private readonly positionEmbedding: T,
    private readonly layers: CLIPEncoderLayer<T>[],
    private readonly finalNorm: LayerNorm<T>,
    private readonly textProjection: Linear<T> | null,
  ) {}

  /**
   * Builds the model from `dict`. Keys may carry the `text_model.` prefix (SD checkpoints) or not
   * (transformers 5); the `position_ids` buffer is ignored. With `config.withProjection` it also
   * takes `text_projection.weight`, which has no `text_model.` prefix in either layout.
   * Calls `dict.finish()`.
   */
  static load<T extends TensorLike>(ops: TensorOps<T>, config: CLIPTextConfig, dict: StateDict, options: WeightOptions = {}): CLIPTextModel<T> {
    dict.rename(stripPrefix('text_model.')).ignore('embeddings.position_ids');
    const w = new ModelWeights(ops, dict, options);
    try {
      const d = config.hiddenSize;
      const model = new CLIPTextModel(
        config,
        ops,
        w,
        w.tensor('embeddings.token_embedding.weight', [config.vocabSize, d]),
        w.tensor('embeddings.position_embedding.weight', [config.maxPositionEmbeddings, d]),
        Array.from({ length: config.numHiddenLayers }, (_, i) => CLIPEncoderLayer.load(w, `encoder.layers.${i}`, config)),
        LayerNorm.load(w, 'final_layer_norm', d, config.layerNormEps),
        config.withProjection ? Linear.load(w, 'text_projection', d, config.projectionDim, false) : null,
      );
      dict.finish();
      return model;
    } catch (err) {
      w.releaseAll();
      throw err;
    }
  }

  /**
   * Encodes token ids [B, L] (L ≤ max_position_embeddings), row-major. `textEmbeds` is there
   * exactly when `config.withProjection`, `penultimateHiddenState` exactly when asked for.
   * Every output is the caller's to release.
   */
  forward(
    inputIds: Int32Array,
    shape: readonly [number, number],
    options: CLIPTextForwardOptions<T> & { penultimate: true },
  ): CLIPTextOutput<T> & { penultimateHiddenState: T };
  forward(inputIds: Int32Array, shape: readonly [number, number], options?: CLIPTextForwardOptions<T>): CLIPTextOutput<T>;
  forward(inputIds: Int32Array, shape: readonly [number, number], options: CLIPTextForwardOptions<T> = {}): CLIPTextOutput<T> {
    const ops = this.ops;
    const [B, L] = shape;
    let x = this.encode(inputIds, shape, this.layers.length - 1, options.addedTokens);
    // A second handle on the same storage, not a copy: layers never write into their input, and
    // the view keeps the storage alive after the last layer releases `x`.
    const penultimate = options.penultimate ? ops.reshape(x, x.shape) : undefined;
    x = this.layers[this.layers.length - 1]!.forward(ops, x);
    const last = swap(ops, x, this.finalNorm.forward(ops, x));
    const pooled = ops.gatherRows(last, this.poolPositions(inputIds, B, L));
    const out: CLIPTextOutput<T> = { lastHiddenState: last, poolerOutput: pooled };
    if (penultimate) out.penultimateHiddenState = penultimate;
    if (this.textProjection) out.textEmbeds = this.textProjection.forward(ops, pooled);
    return out;
  }

  /**
   * transformers' `hidden_states[-2]` alone [B, L, hidden]: stops after all layers but the last
   * (no `final_layer_norm`), one layer less than `forward`. What SDXL needs from its first text
   * encoder. The result is the caller's to release.
   */
  forwardPenultimate(inputIds: Int32Array, shape: readonly [number, number], options: CLIPTextInputOptions<T> = {}): T {
    return this.encode(inputIds, shape, this.layers.length - 1, options.addedTokens);
  }

  /** The model's Linear and Conv2d layers by diffusers module path: what a LoRA can adapt. */
  get loraTargets(): ReadonlyMap<string, LoraTarget<T>> {
    return this.weights.layers;
  }

  /** Releases the model's weights. */
  release(): void {
    this.weights.releaseAll();
  }

  /** Checks the ids, embeds them and runs the first `layers` encoder layers: [B, L, hidden]. */
  private encode(inputIds: Int32Array, shape: readonly [number, number], layers: number, added?: AddedTokenEmbeddings<T>): T {
    const ops = this.ops;
    const c = this.config;
    const [B, L] = shape;
    if (inputIds.length !== B * L) throw new ModelInputError('CLIPTextModel', `${inputIds.length} ids for shape [${B}, ${L}].`);
    if (L > c.maxPositionEmbeddings) throw new ModelInputError('CLIPTextModel', `${L} tokens exceed max_position_embeddings (${c.maxPositionEmbeddings}).`);
    if (added && (added.firstId !== c.vocabSize || added.hiddenSize !== c.hiddenSize)) {
      throw new ModelInputError(
        'CLIPTextModel',
        `added token rows start at id ${added.firstId} with hidden size ${added.hiddenSize}, but this encoder's vocabulary ends at ${c.vocabSize} and its hidden size is ${c.hiddenSize}: tokenizer and text encoder disagree.`,
      );
    }
    for (const id of inputIds) {
      if (!((id >= 0 && id < c.vocabSize) || added?.has(id))) {
        throw new ModelInputError('CLIPTextModel', `token id ${id} is outside the vocabulary (size ${c.vocabSize}${added ? ` and ${added.count} added tokens` : ''}).`);
      }
    }

    const tokens = added ? added.embed(inputIds, [B, L], this.tokenEmbedding) : ops.embedding(inputIds, [B, L], this.tokenEmbedding);
    const positions = Int32Array.from({ length: L }, (_, i) => i);
    const pos = moveReshape(ops, ops.embedding(positions, [1, L], this.positionEmbedding), [L, c.hiddenSize]);
    let x = ops.add(tokens, pos);
    ops.release(tokens);
    ops.release(pos);
    for (const layer of this.layers.slice(0, layers)) x = layer.forward(ops, x);
    return x;
  }

  /**
   * transformers' rule: argmax of the ids for the legacy `eos_token_id` 2, else the first EOS
   * (0 when none). The argmax leaves out textual-inversion ids (past `vocab_size`): they would
   * win it and move the pooled output off EOS, the position CLIP was trained to pool at.
   * transformers itself warns its legacy rule "can't work correctly with extra new tokens";
   * SDXL's `text_encoder_2` configs carry the legacy 2, so its `text_embeds` depend on this.
   */
  private poolPositions(ids: Int32Array, B: number, L: number): number[] {
    const eos = this.config.eosTokenId;
    const vocab = this.config.vocabSize;
    return Array.from({ length: B }, (_, b) => {
      const row = ids.subarray(b * L, (b + 1) * L);
      if (eos === 2) {
        let best = 0;
        const key = (id: number): number => (id < vocab ? id : -1);
        for (let i = 1; i < L; i++) if (key(row[i]!) > key(row[best]!)) best = i;
        return best;
      }
      const first = row.indexOf(eos);
      return first < 0 ? 0 : first;
    });
  }
}
