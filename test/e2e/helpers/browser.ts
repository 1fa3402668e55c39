import { existsSync } from 'node:fs';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { repoRoot } from '../../helpers/fixtures.js';

/** Debian's Chromium; never a downloaded browser. Override with OMNI_CHROMIUM. */
export const chromiumPath = process.env.OMNI_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Flags that give headless Chromium WebGPU on SwiftShader, and keep it off the network
 * (this machine has none, and background fetches would fail noisily).
 */
export const chromiumArgs = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium; `webgpu: false` starts it with WebGPU switched off (to exercise fallbacks). */
export async function launchChromium(options: { webgpu?: boolean } = {}): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}: run \`apt-get install -y chromium\` (see .ci/run).`);
  const args = options.webgpu === false ? [...chromiumArgs.filter((a) => a !== '--enable-unsafe-webgpu'), '--disable-webgpu'] : chromiumArgs;
  return chromium.launch({ executablePath: chromiumPath, args, headless: true });
}

/**
 * A Vite dev server on 127.0.0.1 rooted at the repository, so test pages under
 * test/e2e/pages/ import `/src/...` TypeScript (workers included) directly.
 */
export async function startPageServer(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    root: repoRoot,
    configFile: false,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite server has no port');
  return { server, url: `http://127.0.0.1:${address.port}` };
}

/** Collects console errors and page errors, so tests can assert there were none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}
