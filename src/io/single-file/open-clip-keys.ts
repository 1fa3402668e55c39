/**
 * SD 2.x's text encoder is OpenCLIP's text tower (`cond_stage_model.model.*`): its keys →
 * transformers' `CLIPTextModel` names, as diffusers' `convert_open_clip_checkpoint` maps them.
 * Each block's attention holds q, k and v in one `in_proj_weight` [3C, C] (`in_proj_bias` [3C]),
 * split here into three row ranges of the stored tensor (C order: row blocks are contiguous
 * bytes). SD 2.x conditions on the penultimate layer: diffusers' config has one layer fewer than
 * the checkpoint, and the blocks past the config's `num_hidden_layers` are dropped.
 *
 * SDXL's second text encoder is the same tower (ViT-bigG, `conditioner.embedders.1.model.*`) as a
 * `CLIPTextModelWithProjection`: every block is kept (the config counts them all), and
 * `text_projection` becomes `text_projection.weight`, transposed: OpenCLIP multiplies
 * `x @ text_projection` ([width, proj]), a Linear stores [proj, width].
 */

/**
 * A mapped key; `part` selects rows `[part.index * rows, (part.index + 1) * rows)` of the stored
 * tensor, of `part.of` equal parts; `transpose`: the stored 2-D tensor is written transposed
 * (`shape` is already the transposed one).
 */
export interface OpenClipKey {
  key: string;
  shape: number[];
  part?: { index: number; of: number };
  transpose?: true;
}

/** Stored with the text tower but no part of `CLIPTextModel`: the contrastive head and the causal mask buffer. */
const NOT_TEXT_MODEL = new Set(['logit_scale', 'text_projection', 'attn_mask']);

const TOP: Record<string, string> = {
  'token_embedding.weight': 'text_model.embeddings.token_embedding.weight',
  positional_embedding: 'text_model.embeddings.position_embedding.weight',
  'ln_final.weight': 'text_model.final_layer_norm.weight',
  'ln_final.bias': 'text_model.final_layer_norm.bias',
};

const BLOCK_PARTS: Record<string, string> = {
  ln_1: 'layer_norm1',
  ln_2: 'layer_norm2',
  'mlp.c_fc': 'mlp.fc1',
  'mlp.c_proj': 'mlp.fc2',
  'attn.out_proj': 'self_attn.out_proj',
};

const QKV = ['q_proj', 'k_proj', 'v_proj'];

/**
 * The `CLIPTextModel` keys of an OpenCLIP text-tower key (its prefix stripped): one, three (the
 * split `in_proj`), none (`[]`: a block past `numHiddenLayers`, or the head), or null when the
 * key is not one of the tower's. `withProjection` (SDXL's `CLIPTextModelWithProjection`): the
 * projection is kept, transposed, and a block past `numHiddenLayers` maps to nothing (null), as
 * the model has no place for it.
 */
export function openClipKeys(key: string, shape: readonly number[], numHiddenLayers: number, withProjection = false): OpenClipKey[] | null {
  const top = TOP[key];
  if (top) return [{ key: top, shape: [...shape] }];
  if (withProjection && key === 'text_projection') return shape.length === 2 ? [{ key: 'text_projection.weight', shape: [shape[1]!, shape[0]!], transpose: true }] : null;
  if (NOT_TEXT_MODEL.has(key)) return [];
  const block = /^transformer\.resblocks\.(\d+)\.(.+)\.(weight|bias)$/.exec(key) ?? /^transformer\.resblocks\.(\d+)\.attn\.(in_proj)_(weight|bias)$/.exec(key);
  if (!block) return null;
  const [, layer, part, kind] = block as unknown as [string, string, string, 'weight' | 'bias'];
  if (Number(layer) >= numHiddenLayers) return withProjection ? null : [];
  const prefix = `text_model.encoder.layers.${layer}`;
  if (part === 'in_proj') {
    const rows = shape[0]!;
    if (rows % 3 !== 0) return null;
    return QKV.map((name, index) => ({ key: `${prefix}.self_attn.${name}.${kind}`, shape: [rows / 3, ...shape.slice(1)], part: { index, of: 3 } }));
  }
  const inner = BLOCK_PARTS[part];
  return inner ? [{ key: `${prefix}.${inner}.${kind}`, shape: [...shape] }] : null;
}
