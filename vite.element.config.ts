import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';

/**
 * The standalone `<omni-diffusion>` bundle: `dist/omni-diffusion.element.js`, one ESM file with
 * its dependencies inlined, for pages without a bundler (`<script type="module" src=...>`).
 * The engine worker is emitted beside it as `omni-diffusion.worker.js` and found through
 * `new URL(..., import.meta.url)`, so it loads from wherever the bundle is served.
 * Runs after the library build (it keeps `dist/`). `onnxruntime-web` stays external: only the
 * `onnx` executor loads it, and pages that want it provide it with an import map.
 */
export default defineConfig({
  // Relative asset URLs: the worker is looked up next to the bundle, not at the site root.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: true,
    minify: true,
    lib: {
      entry: { 'omni-diffusion.element': 'src/element/index.ts' },
      formats: ['es'],
      fileName: (_format, name) => `${name}.js`,
    },
    rolldownOptions: {
      external: ['webgpu', 'onnxruntime-web', /^onnxruntime-web\//, ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
      output: { codeSplitting: false },
    },
  },
  worker: {
    format: 'es',
    rolldownOptions: { output: { entryFileNames: 'omni-diffusion.[name].js', codeSplitting: false } },
  },
});
