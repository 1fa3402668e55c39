#!/usr/bin/env node
// `npm run verify -- <fixture>`: runs tools/verify/main.ts from a checkout, with no build step.
// Vite's module runner (already a devDependency) compiles the TypeScript and inlines the WGSL
// `?raw` imports the kernels use, as the library build and vitest do. The runner stays open for
// the whole run: the code it loads imports more modules lazily (Node's fs, Dawn) as it goes.
import { fileURLToPath } from 'node:url';
import { createServer, createServerModuleRunner } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));
const server = await createServer({ root, configFile: false, logLevel: 'warn', appType: 'custom', server: { middlewareMode: true, hmr: false, ws: false } });
try {
  const runner = createServerModuleRunner(server.environments.ssr, { hmr: false });
  const { runVerify } = await runner.import('/tools/verify/main.ts');
  process.exitCode = await runVerify(process.argv.slice(2));
  await runner.close();
} finally {
  await server.close();
}
