import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_ERROR_MODULES } from '../../../src/host/remote-errors.js';
import { repoRoot } from '../../helpers/fixtures.js';

/**
 * What an app pays for `import { DiffusionEngine } from 'omni-diffusion'`: a production Vite
 * build of a one-line app against the built package (its `exports` and `sideEffects`), read back
 * as the JS a page loads before any `import()` runs, and the chunks each executor loads lazily.
 */

/** Static `import ... from "./x.js"` and `import "./x.js"`, not `import("./x.js")`. */
const STATIC_IMPORT = /(?<![\w$.])import\s*(?:[\w$*{}\s,]+?\s*from\s*)?["'`]([^"'`]+\.js)["'`]/g;
const DYNAMIC_IMPORT = /(?<![\w$.])import\(\s*["'`]([^"'`]+\.js)["'`]\s*\)/g;

/** The files a module pulls in through static imports, itself included. */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) stack.push(resolve(dirname(file), m[1]!));
  }
  return seen;
}

const textOf = (files: Iterable<string>): string => [...files].map((f) => readFileSync(f, 'utf8')).join('\n');
const bytesOf = (files: Iterable<string>): number => [...files].reduce((sum, f) => sum + readFileSync(f).length, 0);

/** The lazily loaded closure of the built-in executor `shorthand` (its class declares `static shorthand`). */
function executorClosure(startup: Set<string>, shorthand: string): Set<string> {
  const lazy = [...startup].flatMap((f) => [...readFileSync(f, 'utf8').matchAll(DYNAMIC_IMPORT)].map((m) => resolve(dirname(f), m[1]!)));
  const declares = new RegExp(`shorthand\\s*=\\s*["'\`]${shorthand}["'\`]`);
  const found = lazy.map(staticClosure).filter((closure) => declares.test(textOf(closure)));
  expect(found.length, `the chunk of the "${shorthand}" executor`).toBe(1);
  return found[0]!;
}

/** The stable codes of the classes a host module exports. */
function codesOf(mod: object): string[] {
  return Object.values(mod)
    .filter((v): v is abstract new () => Error => typeof v === 'function' && v.prototype instanceof Error && Object.hasOwn(v.prototype, 'code'))
    .map((cls) => (cls.prototype as { code: string }).code);
}

describe('an app importing DiffusionEngine (Vite production build)', () => {
  let dir = '';
  let startup = new Set<string>();

  beforeAll(async () => {
    expect(existsSync(join(repoRoot, 'dist', 'index.js')), 'dist/ is missing: run npm run build').toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'omni-app-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
    writeFileSync(join(dir, 'main.js'), "import { DiffusionEngine } from 'omni-diffusion';\nglobalThis.engine = DiffusionEngine.create({ model: 'm', executor: 'http' });\n");
    await build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      resolve: { alias: { 'omni-diffusion': repoRoot } },
      build: { outDir: join(dir, 'out'), emptyOutDir: true },
    });
    const html = readFileSync(join(dir, 'out', 'index.html'), 'utf8');
    const entry = /<script type="module"[^>]*src="\.?\/?([^"]+)"/.exec(html)![1]!;
    startup = staticClosure(join(dir, 'out', entry));
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads no executor, PNG decoder or onnxruntime glue at startup, and stays small', () => {
    const text = textOf(startup);
    const bytes = bytesOf(startup);
    console.log(`startup JS: ${startup.size} files, ${bytes} bytes`);
    expect(text).toContain('ENGINE_CLOSED');
    expect(text).not.toContain('HTTP_UNEXPECTED_RESPONSE');
    expect(text).not.toContain('ONNX_MODEL_FILE');
    expect(text).not.toContain('IHDR');
    expect(text).not.toMatch(/shorthand\s*=\s*["'`](webgpu|http|onnx|multiproc|external)["'`]/);
    // A budget, not a timing: before the executors became lazy it was 216 KB.
    expect(bytes).toBeLessThan(64 * 1024);
  });

  it('loads an executor with its own code when chosen: http with its errors and PNG decoder', () => {
    const text = textOf(executorClosure(startup, 'http'));
    expect(text).toContain('HTTP_UNEXPECTED_RESPONSE');
    expect(text).toContain('IHDR');
  });

  it('keeps every error class a host can throw in the webgpu executor chunk, so errors from its worker are rebuilt as their class', () => {
    const text = textOf(executorClosure(startup, 'webgpu'));
    const codes = HOST_ERROR_MODULES.flatMap(codesOf);
    expect(codes.length).toBeGreaterThan(30);
    expect(codes.filter((code) => !text.includes(`"${code}"`) && !text.includes(`'${code}'`) && !text.includes(`\`${code}\``))).toEqual([]);
  });
});
