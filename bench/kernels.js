#!/usr/bin/env node
// Kernel benchmark. Default: Debian Chromium (SwiftShader WebGPU), our kernels side by side with
// onnxruntime-web's WebGPU and wasm EPs in the same page. `--node`: Node + Dawn (any Vulkan driver),
// for headless GPU machines. Options: --reps N (default 3), --only <substring of a case name>.
// Prints times, GFLOP/s and ratios measured in this run; never fails on timing.
import { parseArgs } from 'node:util';
import { createServer } from 'vite';

const { values } = parseArgs({
  options: { node: { type: 'boolean' }, reps: { type: 'string', default: '3' }, only: { type: 'string' } },
});
const reps = Number(values.reps);
const root = new URL('..', import.meta.url).pathname;

const server = await createServer({
  root,
  configFile: false,
  logLevel: 'error',
  server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
  optimizeDeps: { noDiscovery: true, include: [] },
});
try {
  if (values.node) {
    const { main } = await server.ssrLoadModule('/bench/kernels-node.ts');
    await main({ reps, only: values.only });
  } else {
    await server.listen();
    const { port } = server.httpServer.address();
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: process.env.OMNI_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      page.on('console', (m) => console.log(m.text()));
      const query = new URLSearchParams({ reps: String(reps), ...(values.only ? { only: values.only } : {}) });
      await page.goto(`http://127.0.0.1:${port}/bench/kernels.html?${query}`);
      const out = await page.waitForFunction(() => window.benchResults, undefined, { timeout: 0, polling: 1000 });
      const value = await out.jsonValue();
      if (value.error) {
        console.error(value.error);
        process.exitCode = 1;
      } else console.log(value.adapter);
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}
// Dawn keeps the event loop alive; leave explicitly once done.
process.exit(process.exitCode ?? 0);
