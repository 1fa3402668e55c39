import * as Comlink from 'comlink';
import { ExecutorDeadError, ExecutorUnavailableError } from '../api/errors.js';
import { nodePortEndpoint, type NodeMessagePort } from './node-port.js';
import type { EngineHostApi } from './protocol.js';
import type { LaunchedHost } from './host-connection.js';

/** How long `close` waits for the thread to release its device before terminating it. */
const CLOSE_GRACE_MS = 5000;
/** The thread's script, built beside the library's chunks (`dist/`). Not a literal in `new URL`, so bundlers leave it alone. */
const THREAD_SCRIPT = 'engine-thread.js';

/**
 * The thread's entry: `engine-thread.js` beside this module once built. Run from the sources (a
 * checkout's tests), this module is `src/host/node-thread.ts` and the entry is the
 * one `npm run build` wrote to `dist/`: Node runs JavaScript in a thread, not TypeScript.
 */
function threadEntry(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? `../../dist/${THREAD_SCRIPT}` : `./${THREAD_SCRIPT}`, here);
}

/**
 * Starts an engine host in a Node `worker_threads` thread (config `worker: true` in Node), the
 * counterpart of the browser's Web Worker: the thread owns the Dawn device and the model, and
 * this side's event loop stays free while it records and waits on the GPU. A thread that
 * throws or exits is reported as a crash; the next request starts a fresh one.
 */
export async function launchEngineThread(name: string): Promise<LaunchedHost> {
  // Node built-ins load here, not at the top: single-file browser bundles (the element) inline
  // this module, and a static `node:` import there would stop the bundle from loading at all.
  const [{ existsSync }, { fileURLToPath }, { Worker }] = await Promise.all([import('node:fs'), import('node:url'), import('node:worker_threads')]);
  const entry = threadEntry();
  if (!existsSync(fileURLToPath(entry))) {
    throw new ExecutorUnavailableError(`The engine thread script ${fileURLToPath(entry)} is missing: run \`npm run build\` in the omni-diffusion package, or set worker: false to run the engine in-process.`);
  }
  const worker = new Worker(entry, { name });
  const crashed = new Promise<never>((_, reject) => {
    worker.once('error', (err) => reject(new ExecutorDeadError(`The engine thread "${name}" crashed: ${err.message}`, { cause: err })));
    worker.once('exit', (code) => reject(new ExecutorDeadError(`The engine thread "${name}" exited (code ${code}).`)));
  });
  crashed.catch(() => undefined);
  const host = Comlink.wrap<EngineHostApi>(nodePortEndpoint(worker as unknown as NodeMessagePort));
  const terminate = async (): Promise<void> => {
    host[Comlink.releaseProxy]();
    await worker.terminate();
  };
  return {
    host,
    remote: true,
    crashed,
    async close() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        // A thread stuck in a long GPU call does not answer; it is terminated all the same.
        await Promise.race([host.dispose(), crashed, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
      } catch {
        // It crashed meanwhile: nothing left to dispose.
      } finally {
        clearTimeout(timer);
        await terminate();
      }
    },
    kill: () => void terminate(),
  };
}
