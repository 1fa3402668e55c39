import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';

/**
 * Library build. WGSL is imported with `?raw` and inlined here, so users with other bundlers
 * need nothing special. Dependencies stay external: the app's bundler resolves them, and the
 * Node-only ones (`webgpu`, `node:*`) are only reached through dynamic imports.
 */
const external = [
  'comlink',
  'fast-png',
  /^@noble\/hashes\//,
  'webgpu',
  'onnxruntime-web',
  /^onnxruntime-web\//,
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
];

export default defineConfig({
  // Relative asset URLs: the worker chunks are found next to the library wherever it is served
  // from (node_modules, a CDN), not at the site root.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    minify: false,
    lib: {
      entry: { index: 'src/index.ts', cli: 'src/cli/main.ts', server: 'src/server/index.ts', 'engine-thread': 'src/host/engine.thread.ts' },
      formats: ['es'],
    },
    rolldownOptions: { external },
  },
  worker: { format: 'es' },
});
