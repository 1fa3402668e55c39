import { describe, expect, it } from 'vitest';
import { addTimeIdsRow, defaultMicroConditioning, sdxlPromptEncoder, type SdxlTextEncoders } from '../../../src/pipelines/sdxl-conditioning.js';
import type { TextToImageJob } from '../../../src/pipelines/text-to-image.js';
import type { HostTensor } from '../../../src/schedulers/latents.js';

/**
 * Host stand-ins for SDXL's two encoders: each "token id" is the prompt's index in a table, and
 * each encoder writes recognisable values (1000·encoder + 10·prompt + position), so the test
 * can read back which prompt reached which encoder and row.
 */
function encoders(forceZeros: boolean, log: string[] = []): SdxlTextEncoders<HostTensor> & { live: Set<HostTensor>; prompts: string[] } {
  const prompts: string[] = [];
  const live = new Set<HostTensor>();
  const make = (shape: number[], fill: (i: number) => number): HostTensor => {
    const t = { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)) };
    live.add(t);
    return t;
  };
  const tokenize = (which: string) => (rows: readonly string[]) => {
    log.push(`${which}:${rows.join('|')}`);
    return Int32Array.from(rows.flatMap((r) => {
      if (!prompts.includes(r)) prompts.push(r);
      return Array<number>(77).fill(prompts.indexOf(r));
    }));
  };
  const L = 2;
  const hidden = (enc: number, ids: Int32Array, rows: number, D: number) => make([rows, L, D], (i) => 1000 * enc + 10 * ids[Math.floor(i / (L * D)) * 77]! + (Math.floor(i / D) % L));
  return {
    live,
    prompts,
    tokenize: tokenize('t1'),
    tokenize2: tokenize('t2'),
    encode: (ids, rows) => hidden(1, ids, rows, 3),
    encode2: (ids, rows) => ({ hiddenStates: hidden(2, ids, rows, 2), textEmbeds: make([rows, 4], (i) => 3000 + 10 * ids[Math.floor(i / 4) * 77]!) }),
    concatFeatures: (a, b) => {
      const [R, , Da] = a.shape as [number, number, number];
      const Db = b.shape[2]!;
      return make([R, L, Da + Db], (i) => {
        const row = Math.floor(i / (Da + Db));
        const c = i % (Da + Db);
        return c < Da ? a.data[row * Da + c]! : b.data[row * Db + c - Da]!;
      });
    },
    concatBatch: (a, b) => make([a.shape[0]! + b.shape[0]!, ...a.shape.slice(1)], (i) => (i < a.data.length ? a.data[i]! : b.data[i - a.data.length]!)),
    zerosLike: (x) => make([...x.shape], () => 0),
    release: (x) => void live.delete(x),
    forceZerosForEmptyPrompt: forceZeros,
  };
}

const job: TextToImageJob = { prompt: 'fox', negativePrompt: null, numInferenceSteps: 1, guidanceScale: 5, height: 64, width: 96, seed: 0, numImages: 2, decoder: 'vae', returnTrajectoryLatents: false };

/** Which prompt (index in the table) each row of a [rows, ...] tensor holds, read from encoder `enc`'s values. */
const rowPrompts = (t: HostTensor, enc: number) => {
  const per = t.data.length / t.shape[0]!;
  return Array.from({ length: t.shape[0]! }, (_, r) => {
    const v = t.data[r * per]!;
    return v === 0 ? 'zeros' : Math.floor((v - 1000 * enc) / 10);
  });
};

describe('sdxlPromptEncoder (StableDiffusionXLPipeline.encode_prompt)', () => {
  it('without guidance: B prompt rows through both encoders, their states side by side, the pooled projection and one time-ids row each', async () => {
    const e = encoders(true);
    const c = await sdxlPromptEncoder(e)({ ...job, guidanceScale: 0 }, false);
    expect(c.encoderHiddenStates.shape).toEqual([2, 2, 5]);
    // Row 0: text_encoder's 3 values, then text_encoder_2's 2, at each position.
    expect(Array.from(c.encoderHiddenStates.data.slice(0, 10))).toEqual([1000, 1000, 1000, 2000, 2000, 1001, 1001, 1001, 2001, 2001]);
    expect(c.textEmbeds!.shape).toEqual([2, 4]);
    expect(c.timeIds).toEqual([64, 96, 0, 0, 64, 96, 64, 96, 0, 0, 64, 96]);
    expect(c.inputIds.length).toBe(2 * 77);
    expect(c.inputIds2!.length).toBe(2 * 77);
    // Only the outputs stay alive: every intermediate was released.
    expect(new Set(e.live)).toEqual(new Set([c.encoderHiddenStates, c.textEmbeds]));
  });

  it('under guidance with no negative prompt and force_zeros_for_empty_prompt: zero negative rows first, nothing encoded for them', async () => {
    const log: string[] = [];
    const e = encoders(true, log);
    const c = await sdxlPromptEncoder(e)(job, true);
    expect(log).toEqual(['t1:fox|fox', 't2:fox|fox']);
    expect(rowPrompts(c.encoderHiddenStates, 1)).toEqual(['zeros', 'zeros', 0, 0]);
    expect(rowPrompts(c.textEmbeds!, 3)).toEqual(['zeros', 'zeros', 0, 0]);
    expect(c.timeIds).toHaveLength(4 * 6);
    expect(c.inputIds.length).toBe(2 * 77);
  });

  it('encodes "" for a missing negative prompt when the model does not force zeros, and an explicit "" always', async () => {
    for (const [force, negative] of [[false, null], [true, '']] as const) {
      const log: string[] = [];
      const c = await sdxlPromptEncoder(encoders(force, log))({ ...job, negativePrompt: negative }, true);
      expect(log).toEqual(['t1:||fox|fox', 't2:||fox|fox']);
      expect(rowPrompts(c.encoderHiddenStates, 1)).toEqual([0, 0, 1, 1]);
    }
  });

  it('sends prompt2 and negativePrompt2 to the second encoder only, falling back to the first prompts when empty', async () => {
    const log: string[] = [];
    await sdxlPromptEncoder(encoders(true, log))({ ...job, numImages: 1, negativePrompt: 'blur', prompt2: 'cat', negativePrompt2: 'dark' }, true);
    expect(log).toEqual(['t1:blur|fox', 't2:dark|cat']);
    log.length = 0;
    await sdxlPromptEncoder(encoders(true, log))({ ...job, numImages: 1, negativePrompt: 'blur', prompt2: '', negativePrompt2: null }, true);
    expect(log).toEqual(['t1:blur|fox', 't2:blur|fox']);
  });

  it('takes the micro-conditioning of the job: original size, crop, target size in that order', async () => {
    const microConditioning = { originalSize: [1024, 768], cropsCoordsTopLeft: [16, 8], targetSize: [512, 512] } as const;
    const c = await sdxlPromptEncoder(encoders(true))({ ...job, numImages: 1, microConditioning }, false);
    expect(c.timeIds).toEqual([1024, 768, 16, 8, 512, 512]);
    expect(addTimeIdsRow(defaultMicroConditioning(64, 96))).toEqual([64, 96, 0, 0, 64, 96]);
  });

  it('releases the first encoder\'s output when the second fails', async () => {
    const e = encoders(true);
    e.encode2 = () => {
      throw new RangeError('second encoder failed');
    };
    await expect(sdxlPromptEncoder(e)(job, false)).rejects.toThrow('second encoder failed');
    expect(e.live.size).toBe(0);
  });
});
