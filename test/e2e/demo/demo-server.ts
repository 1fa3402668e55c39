import { resolve } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { fixturesDir, repoRoot } from '../../helpers/fixtures.js';

/**
 * The demo's own dev server (demo/vite.config.ts, with its cross-origin isolation headers) on
 * 127.0.0.1, allowed to serve the golden fixtures, with `proxy` prefixes to loopback servers.
 */
export async function startDemoServer(options: { proxy?: Record<string, string> } = {}): Promise<{ server: ViteDevServer; url: string }> {
  const proxy = Object.fromEntries(
    Object.entries(options.proxy ?? {}).map(([prefix, target]) => [prefix, { target, rewrite: (p: string) => p.slice(prefix.length) || '/' }]),
  );
  const server = await createServer({
    configFile: resolve(repoRoot, 'demo/vite.config.ts'),
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null, proxy, fs: { allow: [repoRoot, fixturesDir()] } },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('demo server has no port');
  return { server, url: `http://127.0.0.1:${address.port}` };
}
