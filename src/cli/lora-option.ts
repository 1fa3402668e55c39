import type { LoraRequest } from '../api/request.js';
import { CliUsageError, type ParsedArgs } from './args.js';

/**
 * `--lora <file>[:scale]`, repeatable, as request LoRAs in order. The scale is what follows the
 * last `:` when it is a number, so URLs (`https://…`) and Windows paths (`C:\…`) keep their colons.
 */
export function loraOptions(args: ParsedArgs): LoraRequest[] {
  const value = args.options['lora'];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [String(value)];
  return list.map((spec) => {
    const cut = spec.lastIndexOf(':');
    const tail = cut < 0 ? '' : spec.slice(cut + 1);
    const scale = tail.trim() !== '' && Number.isFinite(Number(tail)) ? Number(tail) : undefined;
    const source = scale === undefined ? spec : spec.slice(0, cut);
    if (source === '') throw new CliUsageError(`option --lora expects <file>[:scale], got "${spec}"`);
    return scale === undefined ? { source } : { source, scale };
  });
}
