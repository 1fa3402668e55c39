import type { KeyRename } from './state-dict.js';

/** Drops `prefix` from keys that start with it (e.g. `text_model.`, which transformers 5 no longer writes). */
export function stripPrefix(prefix: string): KeyRename {
  return (key) => (key.startsWith(prefix) ? key.slice(prefix.length) : key);
}

/** Applies renames in order. */
export function composeRenames(...renames: KeyRename[]): KeyRename {
  return (key, shape) => {
    let current: string | { key: string; shape: number[] } = key;
    let currentShape = [...shape];
    for (const rename of renames) {
      current = rename(typeof current === 'string' ? current : current.key, currentShape);
      if (typeof current !== 'string') currentShape = current.shape;
    }
    const finalKey = typeof current === 'string' ? current : current.key;
    return sameShape(currentShape, shape) ? finalKey : { key: finalKey, shape: currentShape };
  };
}

const LEGACY_ATTENTION = /^(.*\.attentions\.\d+\.)(query|key|value|proj_attn)\.(weight|bias)$/;
const MODERN_NAMES: Record<string, string> = { query: 'to_q', key: 'to_k', value: 'to_v', proj_attn: 'to_out.0' };
const MODERN_ATTENTION = /\.attentions\.\d+\.(to_q|to_k|to_v|to_out\.0)\.weight$/;

/**
 * Old VAE checkpoints name the attention projections `query/key/value/proj_attn`; diffusers
 * now says `to_q/to_k/to_v/to_out.0`. Conversions from the original LDM code also store them
 * as 1x1 convolutions [C, C, 1, 1] where diffusers has Linear [C, C]: both are rewritten.
 */
export const legacyVaeAttentionRename: KeyRename = (key, shape) => {
  const m = LEGACY_ATTENTION.exec(key);
  const renamed = m ? `${m[1]}${MODERN_NAMES[m[2]!]}.${m[3]}` : key;
  if (MODERN_ATTENTION.test(renamed) && shape.length === 4 && shape[2] === 1 && shape[3] === 1) {
    return { key: renamed, shape: [shape[0]!, shape[1]!] };
  }
  return renamed;
};

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
