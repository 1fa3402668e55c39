import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import { ModelInputError } from '../errors.js';

/**
 * Token-embedding rows for ids past a text encoder's vocabulary: the tokens textual inversion
 * adds (`firstId`, `firstId + 1`, …). transformers resizes the embedding table to hold them; we
 * keep them in a small table of their own instead, since copying the base table would cost its
 * whole size again (OpenCLIP-H's is 202 MB, split over bindings). The base model is not touched,
 * so one loaded encoder serves prompts with and without the tokens.
 */
export class AddedTokenEmbeddings<T extends TensorLike> {
  private constructor(
    private readonly ops: TensorOps<T>,
    /** The id of the first added token (the text encoder's `vocab_size`). */
    readonly firstId: number,
    /** Number of added tokens. */
    readonly count: number,
    readonly hiddenSize: number,
    /** [count + 1, hidden]: row 0 zeros (what every other id gathers), row k + 1 the vector of id `firstId + k`. */
    private readonly table: T,
  ) {}

  /**
   * Uploads `vectors` [count, hiddenSize] (row-major) as the rows of ids `firstId` onwards.
   * Throws `ModelInputError` when the sizes do not fit together.
   */
  static upload<T extends TensorLike>(ops: TensorOps<T>, firstId: number, vectors: Float32Array, hiddenSize: number): AddedTokenEmbeddings<T> {
    if (!Number.isSafeInteger(hiddenSize) || hiddenSize < 1 || vectors.length === 0 || vectors.length % hiddenSize !== 0) {
      throw new ModelInputError('CLIPTextModel', `added token embeddings: ${vectors.length} values are not whole vectors of hidden size ${hiddenSize}.`);
    }
    if (!Number.isSafeInteger(firstId) || firstId < 0) throw new ModelInputError('CLIPTextModel', `added token embeddings: first id ${firstId} is not a non-negative integer.`);
    const count = vectors.length / hiddenSize;
    const table = new Float32Array((count + 1) * hiddenSize);
    table.set(vectors, hiddenSize);
    return new AddedTokenEmbeddings(ops, firstId, count, hiddenSize, ops.upload(table, [count + 1, hiddenSize]));
  }

  /** Whether `id` is one of the added tokens. */
  has(id: number): boolean {
    return id >= this.firstId && id < this.firstId + this.count;
  }

  /**
   * The token embeddings of `ids` [B, L]: `baseTable`'s rows for ordinary ids, these rows for
   * added ones, as `base · keep + extra`: the base rows gathered with added ids read as 0, then
   * zeroed by a [B, L] mask, plus this table's rows gathered with ordinary ids read as its zero
   * row. Multiplying by 1 and adding 0 leave the ordinary rows exact. Ids without an added
   * token take the plain gather.
   */
  embed(ids: Int32Array, shape: readonly [number, number], baseTable: T): T {
    const ops = this.ops;
    const baseIds = new Int32Array(ids.length);
    const extraIds = new Int32Array(ids.length);
    const keep = new Float32Array(ids.length);
    let any = false;
    ids.forEach((id, i) => {
      if (this.has(id)) {
        extraIds[i] = id - this.firstId + 1;
        any = true;
      } else {
        baseIds[i] = id;
        keep[i] = 1;
      }
    });
    if (!any) return ops.embedding(ids, shape, baseTable);
    const base = ops.embedding(baseIds, shape, baseTable);
    const mask = ops.upload(keep, [shape[0], shape[1]]);
    const kept = ops.mul(base, mask);
    ops.release(base);
    ops.release(mask);
    const extra = ops.embedding(extraIds, shape, this.table);
    const out = ops.add(kept, extra);
    ops.release(kept);
    ops.release(extra);
    return out;
  }

  /** Releases the table. */
  release(): void {
    this.ops.release(this.table);
  }
}
