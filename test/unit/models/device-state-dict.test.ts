import { describe, expect, it } from 'vitest';
import type { ByteProgress } from '../../../src/io/byte-source.js';
import { loadFixture, type ComponentFixture } from '../../../tools/verify/fixture/fixture.js';
import { streamStateDictToDevice } from '../../../src/models/device-state-dict.js';
import { AutoencoderKLDecoder } from '../../../src/models/vae/autoencoder-kl-decoder.js';
import { parseAutoencoderKLConfig } from '../../../src/models/vae/config.js';
import { compareTensors } from '../../../tools/verify/compare.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { trackingOps } from './tracking-ops.js';

/** The fixture file as a stream delivered in small odd-sized chunks, like a slow download. */
async function chunkedStream(fx: ComponentFixture, chunk: number): Promise<ReadableStream<Uint8Array>> {
  const { stream } = await fx.source.fetchFile(fx.weights);
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) all.set(p, (o += p.length) - p.length);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= all.length) return controller.close();
      controller.enqueue(all.subarray(at, (at += chunk)));
    },
  });
}

describe('streaming a checkpoint straight to the device', () => {
  it('builds the VAE decoder from streamed weights with the reference output, uploading nothing it skips', async () => {
    const fx = (await loadFixture(fixturePath('vae-decoder-tiny'))) as ComponentFixture;
    const { ops, live } = trackingOps();
    const progress: ByteProgress[] = [];
    const dict = await streamStateDictToDevice(ops, await chunkedStream(fx, 4099), {
      file: fx.weights,
      dtype: 'f32',
      skip: (k) => k.startsWith('encoder.') || k.startsWith('quant_conv.'),
      onProgress: (p) => progress.push(p),
    });
    const uploadedBeforeBuild = live.size;
    expect(dict.keys().some((k) => k.startsWith('encoder.'))).toBe(true);
    const model = AutoencoderKLDecoder.load(ops, parseAutoencoderKLConfig(fx.config, 'config.json'), dict);
    dict.releaseUntaken();
    // Every uploaded tensor became a model weight: nothing skipped was uploaded, nothing leaked.
    expect(live.size).toBe(uploadedBeforeBuild);
    expect(progress.at(-1)!.loaded).toBe(progress.at(-1)!.total);

    const io = await fx.readIo();
    const latents = ops.upload(Float32Array.from(io.get('latents')!.data), io.get('latents')!.shape);
    const image = await ops.read(model.decode(latents));
    const result = compareTensors('image', image, io.get('image')!.data, fx.tolerance);
    expect(result.pass).toBe(true);
  });

  it('still reports a missing key by name, and frees what it streamed', async () => {
    const fx = (await loadFixture(fixturePath('vae-decoder-tiny'))) as ComponentFixture;
    const { ops, live } = trackingOps();
    const dict = await streamStateDictToDevice(ops, await chunkedStream(fx, 65536), {
      file: fx.weights,
      dtype: 'f32',
      skip: (k) => k.startsWith('decoder.conv_out.'),
    });
    expect(() => AutoencoderKLDecoder.load(ops, parseAutoencoderKLConfig(fx.config, 'config.json'), dict)).toThrow(/decoder\.conv_out\.weight/);
    dict.releaseUntaken();
    expect(live.size).toBe(0);
  });

  it('rejects a truncated stream with the file named, leaving nothing on the device', async () => {
    const fx = (await loadFixture(fixturePath('vae-decoder-tiny'))) as ComponentFixture;
    const { ops, live } = trackingOps();
    const full = await chunkedStream(fx, 1 << 20);
    const reader = full.getReader();
    const first = (await reader.read()).value!;
    const truncated = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(first.subarray(0, Math.floor(first.length / 2)));
        controller.close();
      },
    });
    await expect(streamStateDictToDevice(ops, truncated, { file: 'vae/diffusion_pytorch_model.safetensors', dtype: 'f32' })).rejects.toThrow(
      /vae\/diffusion_pytorch_model\.safetensors/,
    );
    expect(live.size).toBe(0);
  });
});
