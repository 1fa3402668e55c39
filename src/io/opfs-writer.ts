import type { OpfsSink } from './cache-opfs-io.js';
import type { OpfsWriterMessage, OpfsWriterReply } from './opfs-writer-protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Whether this context can start the writer worker (a window; workers write through their own sync handles). */
export function canUseWriterWorker(): boolean {
  return typeof (globalThis as { Worker?: unknown }).Worker === 'function' && typeof (globalThis as { document?: unknown }).document !== 'undefined';
}

/** The page's one writer worker, started on first use and kept: a download does not wait for a worker to start. */
class WriterWorker {
  readonly #worker = new Worker(new URL('./opfs-writer.worker.ts', import.meta.url), { type: 'module', name: 'omni-diffusion-opfs-writer' });
  readonly #pending = new Map<number, { resolve: (bytes: Uint8Array | undefined) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #nextSink = 0;
  #dead: Error | null = null;

  constructor() {
    this.#worker.addEventListener('message', (event: MessageEvent<OpfsWriterReply>) => {
      const { id, error, bytes } = event.data;
      const p = this.#pending.get(id);
      if (!p) return;
      this.#pending.delete(id);
      if (error) p.reject(Object.assign(new Error(error.message), { name: error.name }));
      else p.resolve(bytes);
    });
    this.#worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.#dead = new Error(`the OPFS writer worker failed: ${event.message || 'its script did not load'}`);
      for (const p of this.#pending.values()) p.reject(this.#dead);
      this.#pending.clear();
      if (writer === this) writer = null;
    });
  }

  sinkId(): number {
    return this.#nextSink++;
  }

  send(m: DistributiveOmit<OpfsWriterMessage, 'id'>, transfer: Transferable[] = []): Promise<Uint8Array | undefined> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...m, id }, transfer);
    });
  }
}

let writer: WriterWorker | null = null;

/**
 * An OPFS sink for a window: the bytes go to the page's writer worker (a copy transferred, not
 * cloned) that writes them through a sync access handle (`opfs-writer.worker.ts`). Unlike
 * `createWritable`, whose swap file a closed tab or a failed write throws away, what was written
 * stays in the file for a resume.
 */
export async function openWorkerSink(handle: FileSystemFileHandle, offset: number): Promise<OpfsSink> {
  const w = (writer ??= new WriterWorker());
  const sink = w.sinkId();
  await w.send({ op: 'open', sink, handle, offset });
  return {
    // The chunk is the caller's (it also goes to the reader): the worker gets a copy it owns.
    write: async (chunk) => {
      const bytes = chunk.slice();
      await w.send({ op: 'write', sink, bytes }, [bytes.buffer]);
    },
    read: async (at, n) => (await w.send({ op: 'read', sink, at, n })) ?? new Uint8Array(0),
    close: async () => void (await w.send({ op: 'close', sink })),
    abort: async () => void (await w.send({ op: 'abort', sink })),
  };
}
