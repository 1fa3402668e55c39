import { DiffusionRequest } from '../api/request.js';
import { jobRequestOf, resolveJob, type ResolvedJob } from './resolve-job.js';
import type { StableDiffusionPipeline } from './stable-diffusion.js';

/** Scheduler steps of the dry run: multistep solvers change order after the first, and the last step may differ. */
const WARMUP_STEPS = 3;

/**
 * The jobs whose kernels a load precompiles (`StableDiffusionPipeline.kernelsFor`): a request
 * at the model's defaults (size, guidance, scheduler), over a few steps, and with TAESD loaded,
 * one step decoded by it. Other sizes mostly reuse these kernels; what they add compiles on use.
 */
export function warmupJobs(pipeline: StableDiffusionPipeline): ResolvedJob[] {
  const base = resolveJob(jobRequestOf(new DiffusionRequest({ prompt: '' })), pipeline.defaults, pipeline.capabilities);
  const jobs = [{ ...base, numInferenceSteps: Math.min(base.numInferenceSteps, WARMUP_STEPS) }];
  if (pipeline.capabilities.decoders.includes('taesd')) jobs.push({ ...base, numInferenceSteps: 1, decoder: 'taesd' });
  return jobs;
}
