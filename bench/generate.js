#!/usr/bin/env node
// End-to-end generation benchmark (issue 7). Default: Node + Dawn (any Vulkan driver);
// `--browser`: Debian Chromium (SwiftShader WebGPU, the engine in a module worker) through the e2e
// rig; `--both`: both, then the browser/node ratio. Defaults are the bundled tiny model at
// 20 steps, guidance 1.5 (CFG), 32x32. Options: --runs N (timed runs after one warm-up, default 5),
// --model <diffusers folder>, --steps, --guidance, --size, --prompt.
// Prints median per-step and per-image times; never fails on timing.
import { loadavg } from 'node:os';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';

/** Issue 7's goal on a 2-core CPU: one tiny-model image in ≤ 3 s in Node/Dawn on lavapipe. */
const NODE_GOAL_MS = 3000;

const { values } = parseArgs({
  options: {
    browser: { type: 'boolean' },
    both: { type: 'boolean' },
    model: { type: 'string', default: 'models/tiny-shapes' },
    prompt: { type: 'string', default: 'a red circle on a blue background' },
    steps: { type: 'string', default: '20' },
    guidance: { type: 'string', default: '1.5' },
    size: { type: 'string', default: '32' },
    runs: { type: 'string', default: '5' },
  },
});
const options = {
  prompt: values.prompt,
  steps: Number(values.steps),
  guidance: Number(values.guidance),
  size: Number(values.size),
  runs: Number(values.runs),
};
if (![options.steps, options.size, options.runs].every((n) => Number.isInteger(n) && n > 0) || !Number.isFinite(options.guidance)) {
  console.error('usage: node bench/generate.js [--browser | --both] [--runs N] [--model <diffusers folder>] [--steps N] [--guidance G] [--size S] [--prompt P]');
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
const modelDir = resolve(process.cwd(), values.model);
const inRoot = !relative(root, modelDir).startsWith('..');
const runNode = !values.browser || values.both;
const runBrowser = values.browser || values.both;

const server = await createServer({
  root,
  configFile: false,
  logLevel: 'error',
  server: { host: '127.0.0.1', port: 0, hmr: false, watch: null, fs: { allow: [root, modelDir] } },
  optimizeDeps: { noDiscovery: true, include: [] },
});
try {
  const { formatTimings, median } = await server.ssrLoadModule('/bench/generate-suite.ts');
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min)`);
  let node = null;
  let browser = null;
  if (runNode) {
    const { main } = await server.ssrLoadModule('/bench/generate-node.ts');
    node = await main({ ...options, model: modelDir });
    console.log(formatTimings('node (Dawn)', node, options));
    const perImage = median(node.perImageMs);
    console.log(`goal ≤ ${NODE_GOAL_MS / 1000} s per image in Node/Dawn: ${perImage <= NODE_GOAL_MS ? 'met' : 'not met'} (${(perImage / 1000).toFixed(2)} s)`);
  }
  if (runBrowser) {
    await server.listen();
    const { port } = server.httpServer.address();
    // The e2e rig's launcher: Debian Chromium (or OMNI_CHROMIUM) with the WebGPU flags.
    const { launchChromium } = await server.ssrLoadModule('/test/e2e/helpers/browser.ts');
    const chromium = await launchChromium();
    try {
      const page = await chromium.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') console.error(`[page] ${m.text()}`);
      });
      page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
      const modelPath = inRoot ? `/${relative(root, modelDir)}/` : `/@fs${modelDir}/`;
      const query = new URLSearchParams({ model: modelPath, ...Object.fromEntries(Object.entries(options).map(([k, v]) => [k, String(v)])) });
      await page.goto(`http://127.0.0.1:${port}/bench/generate.html?${query}`);
      const handle = await page.waitForFunction(() => window.benchResults, undefined, { timeout: 0, polling: 1000 });
      const result = await handle.jsonValue();
      if (result.error) {
        console.error(result.error);
        process.exitCode = 1;
      } else {
        browser = result.timings;
        console.log(formatTimings('chromium (worker)', browser, options));
      }
    } finally {
      await chromium.close();
    }
  }
  if (node && browser) {
    const ratio = (key) => (median(browser[key]) / median(node[key])).toFixed(2);
    console.log(`browser/node: ${ratio('perStepMs')}x per step, ${ratio('perImageMs')}x per image`);
  }
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min)`);
} finally {
  await server.close();
}
// Dawn keeps the event loop alive; leave explicitly once done.
process.exit(process.exitCode ?? 0);
