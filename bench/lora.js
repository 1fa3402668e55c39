#!/usr/bin/env node
// LoRA costs (issue 22): for the tiny SD 1.5 UNet with the lora fixture's LoRA, and the full-size
// SD 1.5 UNet (recipe weights, f16) with a synthetic LoRA over the same kinds of modules, on
// Node/Dawn at WebGPU's default limits: a UNet call without and with the LoRA run unfused, the
// LoRA's first load, a switch to it once loaded, and what a merged path would spend per switch
// (every W' computed on the GPU). Prints the per-step overhead and the step count at which
// merging would pay off. Never fails on timing.
// Options: --latent N (full-size latent side, default 32: 256²), --rank R (default 16),
// --fixtures <dir> (default ../shared/fixtures), --tiny-only.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';

const { values } = parseArgs({ options: { latent: { type: 'string', default: '32' }, rank: { type: 'string', default: '16' }, fixtures: { type: 'string' }, 'tiny-only': { type: 'boolean', default: false } } });
const root = new URL('..', import.meta.url).pathname;
const server = await createServer({ root, configFile: false, logLevel: 'error', server: { hmr: false, watch: null, fs: { allow: [root, resolve(root, '..')] } }, optimizeDeps: { noDiscovery: true, include: [] } });
try {
  const { runLoraBench } = await server.ssrLoadModule('/bench/lora-node.ts');
  const { adapter, costs } = await runLoraBench({
    fixtures: values.fixtures ?? resolve(root, '../shared/fixtures'),
    latent: Number(values.latent),
    rank: Number(values.rank),
    skipFull: values['tiny-only'],
    log: (line) => console.error(`lora: ${line}`),
  });
  const ms = (v) => v.toFixed(v < 10 ? 2 : 0);
  console.log(`LoRA costs on ${adapter}, WebGPU default limits, GPU-complete times`);
  console.log('| UNet | latents × batch | modules (rank) | call, base ms | call, unfused LoRA ms | overhead per step | first load ms | switch (unfused) ms | merge per switch ms | 1 step: unfused vs merged ms | 20 steps: unfused vs merged ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of costs) {
    const over = c.unfusedCallMs - c.baseCallMs;
    const steps = (n) => `${ms(n * over + c.switchMs)} vs ${ms(c.mergeMs)}`;
    console.log(`| ${c.model} | ${c.latent}² × ${c.batch} | ${c.modules} (${c.rank}) | ${ms(c.baseCallMs)} | ${ms(c.unfusedCallMs)} | ${ms(over)} ms (${((100 * over) / c.baseCallMs).toFixed(0)} %), dispatches ${c.dispatchesBase} → ${c.dispatchesUnfused} | ${ms(c.firstLoadMs)} | ${c.switchMs.toFixed(3)} | ${ms(c.mergeMs)} | ${steps(1)} | ${steps(20)} |`);
  }
} finally {
  await server.close();
}
