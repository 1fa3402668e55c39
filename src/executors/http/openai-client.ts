import type { DiffusionRequest } from '../../api/request.js';
import { RequestValidationError } from '../../api/errors.js';
import { UnexpectedResponseError } from './errors.js';
import { takeImages, type RemoteImageApi, type RemoteImages } from './remote-api.js';

/**
 * vllm-omni's OpenAI-compatible `POST /v1/images/generations`. Sends only the fields the
 * request sets, plus `prompt`, `n` and `response_format: "b64_json"`. The API has no
 * scheduler field, so `request.scheduler` is not sent; img2img is refused by the executor.
 */
export const openaiImagesApi: RemoteImageApi = {
  kind: 'openai',
  generatePath: '/v1/images/generations',
  healthPath: '/health',

  buildBody(request: DiffusionRequest, model: string | null): Record<string, unknown> {
    const body: Record<string, unknown> = { prompt: request.prompt, n: request.numOutputsPerPrompt, response_format: 'b64_json' };
    if (model !== null) body.model = model;
    if ((request.width === undefined) !== (request.height === undefined)) {
      const missing = request.width === undefined ? 'width' : 'height';
      throw new RequestValidationError(missing, undefined, 'to be set together with the other side: the openai images API takes one "WxH" size');
    }
    if (request.width !== undefined && request.height !== undefined) body.size = `${request.width}x${request.height}`;
    if (request.negativePrompt !== null) body.negative_prompt = request.negativePrompt;
    if (request.numInferenceSteps !== undefined) body.num_inference_steps = request.numInferenceSteps;
    if (request.guidanceScale !== undefined) body.guidance_scale = request.guidanceScale;
    if (request.seed !== undefined) body.seed = request.seed;
    return body;
  },

  readImages(body: unknown, request: DiffusionRequest): RemoteImages {
    const data = (body as { data?: unknown } | null)?.data;
    if (typeof body !== 'object' || body === null || !Array.isArray(data)) {
      throw new UnexpectedResponseError('the response has no "data" array');
    }
    const all = data.map((item: unknown, i) => {
      const entry = item as { b64_json?: unknown; url?: unknown } | null;
      if (typeof entry?.b64_json === 'string') return entry.b64_json;
      const hint = typeof entry?.url === 'string' ? ' (it sent a "url" instead; the executor asks for response_format "b64_json")' : '';
      throw new UnexpectedResponseError(`data[${i}] has no "b64_json" string${hint}`);
    });
    return { images: takeImages(all, 0, request.numOutputsPerPrompt, '"data"'), seeds: null };
  },
};
