import type { DiffusersRepo } from '../io/diffusers-repo.js';
import { ModelFileNotFoundError } from '../io/errors.js';
import type { ModelSource } from '../io/sources/model-source.js';

/** A weight file a load will read, with its size when the source can state it. */
export interface WeightFile {
  file: string;
  bytes: number | null;
}

/** `ModelSource.stat`, which sources may have (HEAD, fs.stat, a Blob's size, the cache's record). */
type Stat = (path: string, options?: { signal?: AbortSignal }) => Promise<{ size: number | null }>;

function statOf(source: ModelSource): Stat | null {
  const stat = (source as { stat?: unknown }).stat;
  return typeof stat === 'function' ? (stat as Stat).bind(source) : null;
}

/** The sizes of `paths` where `source` has `stat` and states them; null for the rest (a missing file included). */
export async function fileSizes(source: ModelSource, paths: readonly string[], signal?: AbortSignal): Promise<WeightFile[]> {
  const stat = statOf(source);
  return Promise.all(
    paths.map(async (file) => {
      if (!stat) return { file, bytes: null };
      const bytes = await stat(file, signal ? { signal } : {}).then(
        (s) => s.size,
        () => null,
      );
      return { file, bytes };
    }),
  );
}

/** The TAESD checkpoint a pipeline reads from a TAESD repo. */
export const TAESD_WEIGHTS = 'diffusion_pytorch_model.safetensors';

/** How load progress names the TAESD checkpoint: under `taesd/`, beside the model's own components. */
export const TAESD_PROGRESS_PREFIX = 'taesd/';

/**
 * A checkpoint read from a repo beside the model's (a TAESD model, a VAE override): the files to
 * try at that repo's root, best first, and the folder load progress names the one read under.
 */
export interface SideCheckpoint {
  source: ModelSource;
  candidates: readonly string[];
  /** `taesd/` (`TAESD_PROGRESS_PREFIX`), `vae/` for a VAE read instead of the model's own. */
  prefix: string;
}

/**
 * The weights files of `components`, as `DiffusersRepo.openWeights` will pick them: with a
 * source that has `stat`, the first candidate that exists and its size; without one, the first
 * candidate (the variant's file, or the plain one) with an unknown size. Only for progress: a
 * stat that fails for another reason leaves the size unknown rather than failing the load.
 * Each `side` checkpoint is picked the same way from its own repo and named under its prefix
 * (a TAESD repo's as `taesd/…`).
 */
export async function resolveWeightFiles(repo: DiffusersRepo, components: readonly string[], signal?: AbortSignal, side: readonly SideCheckpoint[] = []): Promise<WeightFile[]> {
  // All in parallel: on the Hub each probe is a round trip, and they all precede the download.
  return Promise.all([
    ...components.map((name) => firstExisting(repo.source, repo.weightCandidates(name), signal)),
    ...side.map(async ({ source, candidates, prefix }) => {
      const found = await firstExisting(source, candidates, signal);
      return { file: prefix + found.file, bytes: found.bytes };
    }),
  ]);
}

/** The first of `candidates` that `source` has, and its size (see `resolveWeightFiles`). */
async function firstExisting(source: ModelSource, candidates: readonly string[], signal: AbortSignal | undefined): Promise<WeightFile> {
  const stat = statOf(source);
  if (!stat) return { file: candidates[0]!, bytes: null };
  for (const path of candidates) {
    try {
      const { size } = await stat(path, signal ? { signal } : {});
      return { file: path, bytes: size };
    } catch (err) {
      if (!(err instanceof ModelFileNotFoundError)) return { file: path, bytes: null };
    }
  }
  // None found: opening the weights will fail with its own error naming every candidate.
  return { file: candidates[0]!, bytes: null };
}
