/** Messages of the OPFS writer worker (`opfs-writer.worker.ts`): each names its file (`sink`) and is answered by id. */
export type OpfsWriterMessage =
  | { readonly id: number; readonly sink: number; readonly op: 'open'; readonly handle: FileSystemFileHandle; readonly offset: number }
  | { readonly id: number; readonly sink: number; readonly op: 'write'; readonly bytes: Uint8Array }
  | { readonly id: number; readonly sink: number; readonly op: 'read'; readonly at: number; readonly n: number }
  | { readonly id: number; readonly sink: number; readonly op: 'close' | 'abort' };

/** The answer to one message: nothing (`read`: the bytes), or the error it raised, by name (`QuotaExceededError`, …). */
export interface OpfsWriterReply {
  readonly id: number;
  /** What `read` read. */
  readonly bytes?: Uint8Array;
  readonly error?: { readonly name: string; readonly message: string };
}
