#!/usr/bin/env node
// Thin launcher: the CLI itself is built into dist/ by `npm run build`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('omni-diffusion: dist/cli.js is missing. Run `npm run build` in the package folder first.\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
process.exitCode = await runCli(process.argv.slice(2));
