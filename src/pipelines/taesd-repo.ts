import { readJsonObject } from '../io/diffusers-repo.js';
import { MAX_CONFIG_FILE_BYTES, type ModelSource } from '../io/sources/model-source.js';

/** The TAESD for SD 1.x/2.x latents. */
export const DEFAULT_TAESD = 'madebyollin/taesd';
/** The TAESD for SDXL latents (another latent space: SD's TAESD decodes it wrongly). */
export const DEFAULT_TAESDXL = 'madebyollin/taesdxl';

/** The `taesd` config value that picks the TAESD for the model's family (`taesdRepoFor`). */
export const AUTO_TAESD = 'auto';

/**
 * The TAESD repo for the model at `source`: `madebyollin/taesdxl` for an SDXL pipeline (its
 * `model_index.json` `_class_name` names one), `madebyollin/taesd` otherwise. The two repos have
 * the same config, so a wrong pairing could not be caught later: it is decided here, by family.
 */
export async function taesdRepoFor(source: ModelSource, options: { signal?: AbortSignal } = {}): Promise<string> {
  const index = await readJsonObject(source, 'model_index.json', { maxBytes: MAX_CONFIG_FILE_BYTES, ...options });
  const className = index._class_name;
  return typeof className === 'string' && className.startsWith('StableDiffusionXL') ? DEFAULT_TAESDXL : DEFAULT_TAESD;
}
