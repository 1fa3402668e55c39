import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * Cross-origin isolation (COOP + COEP) gives the page SharedArrayBuffer, which onnxruntime-web
 * needs for its multi-threaded wasm backend. Model files are same-origin or CORS, so
 * `require-corp` blocks nothing the demo loads.
 */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * The static build has no server to set headers, so it ships them as a `_headers` file, the
 * format static hosts (Netlify, Cloudflare Pages) read.
 */
function staticHeadersFile(): Plugin {
  return {
    name: 'omni-demo-static-headers',
    apply: 'build',
    generateBundle() {
      const lines = Object.entries(ISOLATION_HEADERS).map(([k, v]) => `  ${k}: ${v}`);
      this.emitFile({ type: 'asset', fileName: '_headers', source: `/*\n${lines.join('\n')}\n` });
    },
  };
}

/**
 * The demo site: `npm run demo` serves it, `npm run build:demo` writes a static site to
 * `demo-dist/`. `models/` is the public dir, so the bundled tiny model is served (and copied
 * into the build) at `./tiny-shapes/`.
 */
export default defineConfig({
  root: here,
  base: './',
  publicDir: resolve(here, '../models'),
  server: { headers: ISOLATION_HEADERS, fs: { allow: [resolve(here, '..')] } },
  preview: { headers: ISOLATION_HEADERS },
  build: { outDir: resolve(here, '../demo-dist'), emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  plugins: [staticHeadersFile()],
});
