#!/usr/bin/env node
// The compile phase of a load (issue 19) on the full-size SD-Turbo pipeline fixture: how many
// kernel specialisations a request at the model's defaults dispatches, how long the plan-mode
// dry run that finds them takes, and how long `GpuRuntime.precompile` (createComputePipelineAsync,
// all at once) takes against the baseline of compiling the same set one by one on first use,
// measured in the same run on fresh devices. Never fails on timing.
// Options: --dtype f16|f32 (default f16), --fixtures <dir> (default ../shared/fixtures/full).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';

const { values } = parseArgs({ options: { dtype: { type: 'string', default: 'f16' }, fixtures: { type: 'string' } } });
const root = new URL('..', import.meta.url).pathname;
const fixtures = resolve(values.fixtures ?? (process.env.OMNI_FIXTURES ? `${process.env.OMNI_FIXTURES}/full` : resolve(root, '../shared/fixtures/full')));
if (!['f16', 'f32'].includes(values.dtype)) {
  console.error('usage: node bench/precompile.js [--dtype f16|f32] [--fixtures <dir>]');
  process.exit(2);
}
const server = await createServer({ root, configFile: false, logLevel: 'error', server: { hmr: false, watch: null, fs: { allow: [root, fixtures] } }, optimizeDeps: { noDiscovery: true, include: [] } });
try {
  const { main } = await server.ssrLoadModule('/bench/precompile-node.ts');
  const { adapter, row } = await main(`${fixtures}/pipeline-sdturbo-full-512`, values.dtype);
  const ms = (v) => v.toFixed(0);
  console.log(`compile phase, SD-Turbo full size at its defaults, weights ${row.dtype}, activations ${row.activations}, ${adapter}`);
  console.log('| kernels | dry run ms | precompile ms (async, all at once) | baseline: one by one ms | baseline / precompile |');
  console.log('|---|---|---|---|---|');
  console.log(`| ${row.kernels} | ${ms(row.dryRunMs)} | ${ms(row.precompileMs)} | ${ms(row.syncCompileMs)} | ${(row.syncCompileMs / row.precompileMs).toFixed(2)}x |`);
} finally {
  await server.close();
}
