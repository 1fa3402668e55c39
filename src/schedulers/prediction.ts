import type { Term } from './latents.js';

/**
 * The predicted original sample x0 as terms of `sample` and `modelOutput`, for the schedulers
 * parameterised by alpha-bar (DDIM, LCM): epsilon `x0 = (x − √β·ε)/√α`, v `x0 = √α·x − √β·v`,
 * sample `x0 = output`. `alpha` and `beta` are `alphas_cumprod[t]` and `1 − alphas_cumprod[t]`.
 */
export function alphaX0Terms<T>(prediction: 'epsilon' | 'v_prediction' | 'sample', alpha: number, beta: number, sample: T, modelOutput: T): Term<T>[] {
  const sa = Math.fround(Math.sqrt(alpha));
  const sb = Math.fround(Math.sqrt(beta));
  if (prediction === 'epsilon') return [[1 / sa, sample], [-sb / sa, modelOutput]];
  if (prediction === 'v_prediction') return [[sa, sample], [-sb, modelOutput]];
  return [[1, modelOutput]];
}

/** The predicted noise as terms of `sample` and `modelOutput` (DDIM's `pred_epsilon`, before any clipping). */
export function alphaEpsilonTerms<T>(prediction: 'epsilon' | 'v_prediction' | 'sample', alpha: number, beta: number, sample: T, modelOutput: T): Term<T>[] {
  const sa = Math.fround(Math.sqrt(alpha));
  const sb = Math.fround(Math.sqrt(beta));
  if (prediction === 'epsilon') return [[1, modelOutput]];
  if (prediction === 'v_prediction') return [[sa, modelOutput], [sb, sample]];
  return [[1 / sb, sample], [-sa / sb, modelOutput]];
}
