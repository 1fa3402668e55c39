import type { DiffusionRequest } from '../../api/request.js';
import { UnexpectedResponseError } from './errors.js';
import { takeImages, type RemoteImageApi, type RemoteImages } from './remote-api.js';

/**
 * AUTOMATIC1111's sampler names for our scheduler names (short or diffusers class name).
 * Names not listed are sent as they are, so any sampler the web UI knows can be asked for.
 */
const SAMPLER_NAMES: Record<string, string> = {
  euler: 'Euler',
  eulerdiscretescheduler: 'Euler',
  euler_a: 'Euler a',
  'euler-ancestral': 'Euler a',
  eulerancestraldiscretescheduler: 'Euler a',
  ddim: 'DDIM',
  ddimscheduler: 'DDIM',
  pndm: 'PLMS',
  pndmscheduler: 'PLMS',
  lms: 'LMS',
  lmsdiscretescheduler: 'LMS',
  heun: 'Heun',
  heundiscretescheduler: 'Heun',
  'dpm++2m': 'DPM++ 2M',
  dpmsolvermultistepscheduler: 'DPM++ 2M',
  lcm: 'LCM',
  lcmscheduler: 'LCM',
  unipc: 'UniPC',
  unipcmultistepscheduler: 'UniPC',
};

/** AUTOMATIC1111's name for `scheduler`. */
export function a1111SamplerName(scheduler: string): string {
  return SAMPLER_NAMES[scheduler.toLowerCase()] ?? scheduler;
}

/**
 * AUTOMATIC1111's `POST /sdapi/v1/txt2img` (web UI started with `--api`). `seed` is -1
 * (random) when unset; the seeds actually used are read back from `info.all_seeds`.
 * `http.model`, when set, is sent as `override_settings.sd_model_checkpoint`; the config's
 * `modelNameOrPath` is not, since it names a Hub model rather than a web UI checkpoint.
 * Liveness is `GET /internal/ping`, since the web UI has no `/health`.
 */
export const a1111Api: RemoteImageApi = {
  kind: 'a1111',
  generatePath: '/sdapi/v1/txt2img',
  healthPath: '/internal/ping',

  buildBody(request: DiffusionRequest, model: string | null): Record<string, unknown> {
    const body: Record<string, unknown> = {
      prompt: request.prompt,
      seed: request.seed ?? -1,
      batch_size: request.numOutputsPerPrompt,
      n_iter: 1,
    };
    if (request.negativePrompt !== null) body.negative_prompt = request.negativePrompt;
    if (request.numInferenceSteps !== undefined) body.steps = request.numInferenceSteps;
    if (request.guidanceScale !== undefined) body.cfg_scale = request.guidanceScale;
    if (request.width !== undefined) body.width = request.width;
    if (request.height !== undefined) body.height = request.height;
    if (request.scheduler !== undefined) body.sampler_name = a1111SamplerName(request.scheduler);
    if (model !== null) body.override_settings = { sd_model_checkpoint: model };
    return body;
  },

  readImages(body: unknown, request: DiffusionRequest): RemoteImages {
    const images = (body as { images?: unknown } | null)?.images;
    if (typeof body !== 'object' || body === null || !Array.isArray(images)) {
      throw new UnexpectedResponseError('the response has no "images" array');
    }
    images.forEach((item: unknown, i) => {
      if (typeof item !== 'string') throw new UnexpectedResponseError(`images[${i}] is not a base64 string`);
    });
    const info = parseInfo((body as { info?: unknown }).info);
    // With batch_size > 1 the web UI puts a grid of the batch first; info says where the batch starts.
    const first = typeof info?.index_of_first_image === 'number' ? info.index_of_first_image : 0;
    const n = request.numOutputsPerPrompt;
    const seeds = Array.isArray(info?.all_seeds) && info.all_seeds.length >= n && info.all_seeds.every(Number.isSafeInteger) ? info.all_seeds.slice(0, n) : null;
    return { images: takeImages(images as string[], first, n, '"images"'), seeds: seeds as number[] | null };
  },
};

interface A1111Info {
  all_seeds?: unknown[];
  index_of_first_image?: unknown;
}

/** `info` is a JSON string; an unreadable one only costs us the seeds. */
function parseInfo(info: unknown): A1111Info | null {
  if (typeof info !== 'string') return null;
  try {
    const parsed: unknown = JSON.parse(info);
    return typeof parsed === 'object' && parsed !== null ? (parsed as A1111Info) : null;
  } catch {
    return null;
  }
}
