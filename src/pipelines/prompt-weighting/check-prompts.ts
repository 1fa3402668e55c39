import { RequestValidationError } from '../../api/errors.js';
import { parsePromptAttention, PromptWeightSyntaxError } from './parse-attention.js';

/**
 * Refuses, before any work, a prompt whose A1111 syntax the reference cannot read (`(x:1.2.3)`):
 * `RequestValidationError` naming the request field (`prompt`, `negativePrompt`) and the weight.
 */
export function checkA1111Prompts(fields: Readonly<Record<string, string | null | undefined>>): void {
  for (const [field, text] of Object.entries(fields)) {
    if (!text) continue;
    try {
      parsePromptAttention(text, { breaks: true });
    } catch (err) {
      if (!(err instanceof PromptWeightSyntaxError)) throw err;
      throw new RequestValidationError(field, text, `A1111 prompt syntax, where "(text:w)" needs a number w ("${err.weight}" is not one), or promptSyntax 'plain'`);
    }
  }
}
