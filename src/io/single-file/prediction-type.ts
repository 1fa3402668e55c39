import { safeSnippet } from '../snippet.js';
import { CheckpointFormatError } from './errors.js';

/** What a scheduler config's `prediction_type` says a model predicts. */
export type PredictionType = 'epsilon' | 'v_prediction';

/** Stability AI's model-spec metadata key (`__metadata__`), written by trainers and converters. */
export const MODELSPEC_PREDICTION_TYPE = 'modelspec.prediction_type';

/** The spec's values (`epsilon`, `v`), and diffusers' spelling of v. */
const VALUES: Record<string, PredictionType> = { epsilon: 'epsilon', v: 'v_prediction', v_prediction: 'v_prediction' };

/**
 * What a checkpoint's `__metadata__` says it predicts (`modelspec.prediction_type`), or null when
 * it says nothing. Any other value fails with `CheckpointFormatError` (`bad_metadata`), which
 * names the key and tells how to decide it instead.
 */
export function checkpointPredictionType(file: string, metadata: Readonly<Record<string, string>>): PredictionType | null {
  const value = metadata[MODELSPEC_PREDICTION_TYPE];
  if (value === undefined) return null;
  const type = VALUES[value.trim().toLowerCase()];
  if (type) return type;
  throw new CheckpointFormatError(
    file,
    'bad_metadata',
    `its metadata "${MODELSPEC_PREDICTION_TYPE}" is "${safeSnippet(value)}", which is not "epsilon" or "v"; name a diffusers repo whose scheduler config has the right prediction_type as configFrom.`,
  );
}

/**
 * A scheduler config's text with `prediction_type` set to `type`, everything else left as
 * written: the text is patched, not re-serialised, because configs hold bare `-Infinity`
 * (`lambda_min_clipped`) that JSON.stringify would turn into null.
 */
export function withPredictionType(configText: string, type: PredictionType): string {
  const field = /("prediction_type"\s*:\s*)"[^"]*"/;
  if (field.test(configText)) return configText.replace(field, `$1"${type}"`);
  const open = configText.indexOf('{');
  if (open < 0) return configText;
  const rest = configText.slice(open + 1);
  return `${configText.slice(0, open + 1)}\n  "prediction_type": "${type}"${/^\s*}/.test(rest) ? '' : ','}${rest}`;
}
