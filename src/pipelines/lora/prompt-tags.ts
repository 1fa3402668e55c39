import { RequestValidationError } from '../../api/errors.js';
import type { LoraRequest, LoraSource } from '../../api/request.js';

/** AUTOMATIC1111's extra-network tag: `<lora:name>`, `<lora:name:multiplier>` or `<lora:name:te multiplier:unet multiplier>`. */
const TAG = /<lora:([^:>]+)((?::[^:>]*){0,2})>/g;

/**
 * Takes A1111's `<lora:…>` tags out of `prompt` and resolves each name through `names` (the
 * engine's `loraNames`), as AUTOMATIC1111 does: the tag is removed from the text the text
 * encoder sees, and the LoRA applies at the multiplier (default 1; with two, the first is the text
 * encoder's and the second the UNet's). An unknown name or a multiplier that is not a number
 * fails naming `prompt`.
 */
export function takeLoraTags(prompt: string, names: Readonly<Record<string, LoraSource>>): { prompt: string; loras: LoraRequest[] } {
  const loras: LoraRequest[] = [];
  const stripped = prompt.replace(TAG, (tag, name: string, rest: string) => {
    const key = name.trim();
    const source = Object.hasOwn(names, key) ? names[key] : undefined;
    if (source === undefined) {
      const known = Object.keys(names);
      throw new RequestValidationError('prompt', tag, `a <lora:name:multiplier> tag whose name is one of DiffusionConfig.loraNames (${known.length ? known.join(', ') : 'none configured'})`);
    }
    const numbers = rest === '' ? [] : rest.slice(1).split(':').map((s) => s.trim());
    const values = numbers.map((s) => (s === '' ? Number.NaN : Number(s)));
    if (values.some((v) => !Number.isFinite(v))) throw new RequestValidationError('prompt', tag, 'numeric multipliers: <lora:name:0.8> or <lora:name:te:unet>');
    const [first = 1, second] = values;
    loras.push(second === undefined ? { source, scale: first } : { source, scale: second, textEncoderScale: first });
    return '';
  });
  return { prompt: stripped, loras };
}
