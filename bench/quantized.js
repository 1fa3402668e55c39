#!/usr/bin/env node
// Quantized weights (issue 20) on Node/Dawn: the matmul and conv kernels with f16, int8 and int4
// weights (median time and GFLOP/s, ratios against f16 in the same run), then the full-size
// SD 2.x/SD-Turbo UNet fixture (synthetic recipe weights) at batch 1: one step per storage.
// On a GPU, weight-bandwidth-bound layers should get faster; on lavapipe it reports what it sees.
// Never fails on timing.
// Options: --reps N (default 3), --size S (UNet image side, default 512), --only kernels|unet,
// --fixtures <dir> (default ../shared/fixtures/full).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, size: { type: 'string', default: '512' }, only: { type: 'string' }, fixtures: { type: 'string' } } });
const root = new URL('..', import.meta.url).pathname;
const fixtures = resolve(values.fixtures ?? (process.env.OMNI_FIXTURES ? `${process.env.OMNI_FIXTURES}/full` : resolve(root, '../shared/fixtures/full')));
const reps = Number(values.reps);
const size = Number(values.size);
if (!Number.isInteger(reps) || reps < 1 || !Number.isInteger(size) || size % 64 !== 0 || (values.only && !['kernels', 'unet'].includes(values.only))) {
  console.error('usage: node bench/quantized.js [--reps 3] [--size 512] [--only kernels|unet] [--fixtures <dir>]');
  process.exit(2);
}
const server = await createServer({ root, configFile: false, logLevel: 'error', server: { hmr: false, watch: null, fs: { allow: [root, fixtures] } }, optimizeDeps: { noDiscovery: true, include: [] } });
try {
  const bench = await server.ssrLoadModule('/bench/quantized-node.ts');
  const ratio = (rows, row, key) => {
    const base = rows.find((r) => (r.op ?? '') === (row.op ?? '') && r.storage === 'f16');
    return base ? `${(base[key] / row[key]).toFixed(2)}x` : '';
  };
  if (values.only !== 'unet') {
    const { adapter, rows } = await bench.kernels(reps);
    console.log(`quantized kernels, f32 activations, median of ${reps}, ${adapter}`);
    console.log('| op | weights | ms | GFLOP/s | speed vs f16 |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.op} | ${r.storage} | ${r.ms.toFixed(1)} | ${r.gflops.toFixed(2)} | ${ratio(rows, r, 'ms')} |`);
  }
  if (values.only !== 'kernels') {
    const { adapter, rows } = await bench.unetStep(`${fixtures}/unet-sd21-full`, size);
    console.log(`\nfull-size SD 2.x / SD-Turbo UNet, batch 1, ${size}x${size}, ${adapter}`);
    console.log('| weights | load s | step s | weight MB | dispatches | speed vs f16 |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.storage} | ${r.loadS.toFixed(1)} | ${r.stepS.toFixed(1)} | ${(r.weightBytes / 1e6).toFixed(0)} | ${r.dispatches} | ${ratio(rows, r, 'stepS')} |`);
  }
} finally {
  await server.close();
}
