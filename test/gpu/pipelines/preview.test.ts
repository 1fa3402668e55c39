import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionImage, type DiffusionRequestInit } from '../../../src/index.js';
import { latentPreview, SD_LATENT_RGB, SDXL_LATENT_RGB } from '../../../src/pipelines/images.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { writeTaesdRepo } from '../helpers/taesd-repo.js';

const scratch = mkdtempSync(join(tmpdir(), 'omni-preview-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The request's images and the preview of each step, on a fresh engine with previews on. */
async function run(config: Record<string, unknown>, request: DiffusionRequestInit): Promise<{ image: DiffusionImage; previews: DiffusionImage[]; last: Float32Array }> {
  const engine = await DiffusionEngine.create({ dtype: 'f32', preview: true, ...config });
  try {
    const previews: DiffusionImage[] = [];
    const out = await engine.generate({ ...request, returnTrajectoryLatents: true, onProgress: (p) => p.preview && previews.push(p.preview) });
    return { image: out.images[0]!, previews, last: out.trajectoryLatents!.at(-1)! };
  } finally {
    await engine.close();
  }
}

describe('step previews (webgpu, Node + Dawn)', () => {
  const request: DiffusionRequestInit = { prompt: 'a photo of a cat', numInferenceSteps: 2, guidanceScale: 0, height: 64, width: 64, seed: 3 };

  it("with a TAESD loaded: TAESD's full-size image, the last step's exactly the TAESD-decoded output", async () => {
    const taesd = writeTaesdRepo(mkdtempSync(join(scratch, 'taesd-')));
    const { image, previews } = await run({ modelNameOrPath: fixturePath('pipeline-sdturbo-tiny'), taesd }, { ...request, decoder: 'taesd' });
    expect(previews.map((p) => [p.width, p.height])).toEqual([
      [64, 64],
      [64, 64],
    ]);
    expect(Buffer.from(previews[1]!.data).equals(Buffer.from(image.data))).toBe(true);
    expect(Buffer.from(previews[0]!.data).equals(Buffer.from(previews[1]!.data))).toBe(false);
  });

  it("without one: SDXL latents through SDXL's latent-to-RGB map, SD latents through SD's, at latent size", async () => {
    for (const [model, map, other] of [
      ['pipeline-sdxl-turbo-tiny', SDXL_LATENT_RGB, SD_LATENT_RGB],
      ['pipeline-sdturbo-tiny', SD_LATENT_RGB, SDXL_LATENT_RGB],
    ] as const) {
      const { previews, last } = await run({ modelNameOrPath: fixturePath(model) }, request);
      const preview = previews.at(-1)!;
      expect([preview.width, preview.height]).toEqual([8, 8]);
      expect(Array.from(preview.data)).toEqual(Array.from(latentPreview(last, 4, 8, 8, map).data));
      expect(Array.from(preview.data)).not.toEqual(Array.from(latentPreview(last, 4, 8, 8, other).data));
    }
  });
});
