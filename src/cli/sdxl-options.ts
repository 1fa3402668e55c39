import type { DiffusionRequestInit } from '../api/request.js';
import { CliUsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { stringOption } from './option-values.js';

/** `generate`'s options for SDXL's request fields (second prompts and micro-conditioning). */
export const SDXL_OPTIONS: OptionSpec[] = [
  { name: 'prompt-2', type: 'string', description: "SDXL: prompt for the second text encoder (default: the prompt)" },
  { name: 'negative-2', type: 'string', description: 'SDXL: negative prompt for the second text encoder (default: --negative)' },
  { name: 'original-size', type: 'string', description: 'SDXL micro-conditioning: H,W in pixels the model is told the source had (default: the output size)' },
  { name: 'crop-top-left', type: 'string', description: 'SDXL micro-conditioning: TOP,LEFT crop in pixels (default 0,0)' },
  { name: 'target-size', type: 'string', description: 'SDXL micro-conditioning: H,W in pixels (default: the output size)' },
];

/** The SDXL request fields of a command line; the engine refuses them (naming the field) for a model that is not SDXL. */
export type SdxlRequestFields = Pick<DiffusionRequestInit, 'prompt2' | 'negativePrompt2' | 'originalSize' | 'cropsCoordsTopLeft' | 'targetSize'>;

/** Reads `SDXL_OPTIONS`; a malformed pair is a `CliUsageError` naming the option. */
export function sdxlRequestFields(args: ParsedArgs): SdxlRequestFields {
  const out: SdxlRequestFields = {};
  const prompt2 = stringOption(args, 'prompt-2');
  if (prompt2 !== undefined) out.prompt2 = prompt2;
  const negative2 = stringOption(args, 'negative-2');
  if (negative2 !== undefined) out.negativePrompt2 = negative2;
  const originalSize = pairOption(args, 'original-size', 1);
  if (originalSize) out.originalSize = originalSize;
  const crop = pairOption(args, 'crop-top-left', 0);
  if (crop) out.cropsCoordsTopLeft = crop;
  const targetSize = pairOption(args, 'target-size', 1);
  if (targetSize) out.targetSize = targetSize;
  return out;
}

/** Whether a command line sets any SDXL option. */
export function hasSdxlOptions(args: ParsedArgs): boolean {
  return SDXL_OPTIONS.some((o) => args.options[o.name] !== undefined);
}

/** `A,B` as two integers of at least `min`. */
function pairOption(args: ParsedArgs, name: string, min: number): [number, number] | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return undefined;
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  const pair = m ? ([Number(m[1]), Number(m[2])] as [number, number]) : null;
  if (!pair || pair.some((v) => v < min)) throw new CliUsageError(`option --${name} expects two integers of at least ${min} as A,B (e.g. 1024,1024), got "${value}"`);
  return pair;
}
