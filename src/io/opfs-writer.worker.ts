// A window has only `createWritable` for OPFS files, whose swap file is dropped if the tab closes
// or a write fails; this worker writes a window's downloads through sync access handles instead,
// so their bytes are in the files themselves, flushed every 16 MiB, for a resume after any of those.
import { openSink, type OpfsFileHandle, type OpfsSink } from './cache-opfs-io.js';
import type { OpfsWriterMessage, OpfsWriterReply } from './opfs-writer-protocol.js';

/** The open files, by the page's sink id. */
const sinks = new Map<number, OpfsSink>();

async function handle(m: OpfsWriterMessage): Promise<Uint8Array | void> {
  if (m.op === 'open') {
    sinks.set(m.sink, await openSink(m.handle as OpfsFileHandle, m.offset, 'sync'));
    return;
  }
  const sink = sinks.get(m.sink);
  if (!sink) throw new Error(`${m.op} on a file that is not open`);
  switch (m.op) {
    case 'write':
      return sink.write(m.bytes);
    case 'read':
      return sink.read!(m.at, m.n);
    case 'close':
    case 'abort':
      sinks.delete(m.sink);
      return m.op === 'close' ? sink.close() : sink.abort();
  }
}

self.addEventListener('message', (event: MessageEvent<OpfsWriterMessage>) => {
  const m = event.data;
  handle(m).then(
    (bytes) => (bytes ? self.postMessage({ id: m.id, bytes } satisfies OpfsWriterReply, [bytes.buffer]) : self.postMessage({ id: m.id } satisfies OpfsWriterReply)),
    (err: unknown) => {
      const e = err as { name?: unknown; message?: unknown };
      self.postMessage({ id: m.id, error: { name: typeof e.name === 'string' ? e.name : 'Error', message: typeof e.message === 'string' ? e.message : String(err) } } satisfies OpfsWriterReply);
    },
  );
});
