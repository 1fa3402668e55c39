import { existsSync } from 'node:fs';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { fixturesDir, repoRoot } from '../../helpers/fixtures.js';

/** URL path under which a page server serves a golden fixture directory. */
export function fixtureUrlPath(name: string): string {
  return `/@fs${fixturesDir()}/${name}/`;
}

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
 * test/e2e/pages/ import `/src/...` TypeScript (workers included) directly. `proxy` maps URL
 * prefixes to loopback servers, so pages reach test servers without CORS.
 */
export async function startPageServer(options: { proxy?: Record<string, string> } = {}): Promise<{ server: ViteDevServer; url: string }> {
  const proxy = Object.fromEntries(
    Object.entries(options.proxy ?? {}).map(([prefix, target]) => [prefix, { target, rewrite: (p: string) => p.slice(prefix.length) || '/' }]),
  );
  const server = await createServer({
    root: repoRoot,
    configFile: false,
    logLevel: 'error',
    server: {
      host: '127.0.0.1',
      port: 0,
      strictPort: false,
      hmr: false,
      watch: null,
      proxy,
      // The golden fixtures live beside the checkout; pages load them as models over HTTP.
      fs: { allow: [repoRoot, fixturesDir()] },
    },
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
