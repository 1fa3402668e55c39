#!/usr/bin/env node
// Full-size benchmark (issue 16): SD-Turbo (1 step, no guidance) and SD 1.5 (CFG, per step) at
// 512² by default, with synthetic full-size weights (the `full/` fixtures' recipe), on Node/Dawn
// at WebGPU's default limits. Prints, per component: load time, GPU-complete run time,
// dispatches, pool peak and reserved bytes, and peak RSS. Never fails on timing; the same table
// comes out on any Vulkan device (lavapipe or a real GPU).
// Options: --size S (default 512), --sd15-steps N (default 2), --dtype f16|f32 (default f16),
// --activations auto|f16|f32, --only sd-turbo|sd15|sdxl, --fixtures <dir> (default ../shared/fixtures/full).
// --only sdxl (issue 21) runs the full-size SDXL UNet alone (bench/configs/sdxl-base, recipe weights
// generated from the plan's tensor list, no fixture needed) once per size at batch 1; there --size
// takes a comma-separated list (default 256,512), the weights streaming once.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';

const USAGE = 'usage: node bench/full-size.js [--size 512] [--sd15-steps 2] [--dtype f16|f32] [--activations auto|f16|f32] [--only sd-turbo|sd15] [--fixtures <dir>]\n       node bench/full-size.js --only sdxl [--size 256,512] [--dtype f16|f32] [--activations auto|f16|f32]';
const { values } = parseArgs({
  options: {
    size: { type: 'string' },
    'sd15-steps': { type: 'string', default: '2' },
    dtype: { type: 'string', default: 'f16' },
    activations: { type: 'string', default: 'auto' },
    only: { type: 'string' },
    fixtures: { type: 'string' },
  },
});
const root = new URL('..', import.meta.url).pathname;
if (values.only === 'sdxl') {
  await sdxl();
  process.exit(0);
}
const fixtures = resolve(values.fixtures ?? (process.env.OMNI_FIXTURES ? `${process.env.OMNI_FIXTURES}/full` : resolve(root, '../shared/fixtures/full')));
const size = Number(values.size ?? '512');
const steps = Number(values['sd15-steps']);
if (!Number.isInteger(size) || size % 8 !== 0 || !Number.isInteger(steps) || steps < 1 || !['f16', 'f32'].includes(values.dtype) || !['auto', 'f16', 'f32'].includes(values.activations)) {
  console.error(USAGE);
  process.exit(2);
}
const models = [
  { name: 'sd-turbo', textEncoder: 'text-encoder-openclip-h-full', unet: 'unet-sd21-full', vae: 'vae-decoder-full-512', batch: 1, steps: 1 },
  { name: 'sd15', textEncoder: 'text-encoder-clip-l-full', unet: 'unet-sd15-full', vae: 'vae-decoder-full-512', batch: 2, steps },
].filter((m) => !values.only || m.name === values.only);

const server = await createServer({ root, configFile: false, logLevel: 'error', server: { hmr: false, watch: null, fs: { allow: [root, fixtures] } }, optimizeDeps: { noDiscovery: true, include: [] } });
try {
  const { main } = await server.ssrLoadModule('/bench/full-size-node.ts');
  const { adapter, rows } = await main(models, { fixtures, size, dtype: values.dtype, activations: values.activations });
  const mb = (b) => (b / 1e6).toFixed(0);
  const s = (ms) => (ms / 1000).toFixed(1);
  console.log(`full-size ${size}x${size}, weights ${values.dtype}, default limits, ${adapter}`);
  console.log('| model | component | activations | load s | run s (each call) | dispatches | pool peak MB | reserved MB | peak RSS MB |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.component} | ${r.activations} | ${s(r.loadMs)} | ${r.runMs.map(s).join(', ')} | ${r.dispatches} | ${mb(r.poolPeakBytes)} | ${mb(r.reservedBytes)} | ${mb(r.peakRssBytes)} |`);
  }
} finally {
  await server.close();
}

/** `--only sdxl`: the full-size SDXL UNet with recipe weights, one call per size, as a Markdown table. */
async function sdxl() {
  const sizes = (values.size ?? '256,512').split(',').map(Number);
  if (!sizes.every((s) => Number.isInteger(s) && s > 0 && s % 32 === 0) || !['f16', 'f32'].includes(values.dtype) || !['auto', 'f16', 'f32'].includes(values.activations)) {
    console.error(USAGE);
    process.exit(2);
  }
  const server = await createServer({ root, configFile: false, logLevel: 'error', server: { hmr: false, watch: null, fs: { allow: [root] } }, optimizeDeps: { noDiscovery: true, include: [] } });
  try {
    const { runSdxlUNet } = await server.ssrLoadModule('/bench/full-size-sdxl-node.ts');
    const { adapter, load, runs } = await runSdxlUNet({ sizes, dtype: values.dtype, activations: values.activations, log: (line) => console.error(`sdxl unet: ${line}`) });
    const mb = (b) => (b / 1e6).toFixed(0);
    const s = (ms) => (ms / 1000).toFixed(1);
    console.log(`full-size SDXL UNet (${load.parameters} parameters, recipe omni-synthetic-v1), weights ${values.dtype}, default limits, ${adapter}`);
    console.log(`load: ${s(load.loadMs)} s for a ${mb(load.fileBytes)} MB f32 recipe file, ${mb(load.weightsBytes)} MB of pool weights, host memory beyond the pool while streaming at most ${mb(load.maxHostOverheadBytes)} MB, peak RSS ${mb(load.peakRssBytes)} MB`);
    console.log('| size | latents | activations | run s | dispatches | pool peak MB | reserved MB | peak RSS MB | output | non-finite |');
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of runs) {
      const out = `[${r.shape.join(',')}] mean abs ${r.meanAbs.toFixed(3)}, std ${r.std.toFixed(3)}`;
      console.log(`| ${r.size}² | ${r.size / 8}² | ${r.activations} | ${s(r.runMs)} | ${r.dispatches} | ${mb(r.poolPeakBytes)} | ${mb(r.reservedBytes)} | ${mb(r.peakRssBytes)} | ${out} | ${r.nonFinite} |`);
    }
  } finally {
    await server.close();
  }
}
