/**
 * What a cached bind group binds: the uniform chunk (bound with a dynamic offset) and the storage
 * buffers 1..n (tensor chunks of an executing runtime, so never the plan-mode null).
 */
export interface BindGroupBuffers {
  readonly uniform: GPUBuffer;
  readonly uniformSize: number;
  readonly storage: readonly { readonly buffer: GPUBuffer | null; readonly byteSize: number }[];
}

/**
 * Bind groups keyed by the buffers they bind. A denoising loop records the same dispatches over
 * the same pooled buffers every step, and uniforms are bound with a dynamic offset, so from the
 * second step on every dispatch finds its bind group here. Creating one per dispatch made a
 * native object each time; in Dawn/Node collecting those wrappers cost more main-thread time
 * than the GPU work of a tiny model.
 *
 * Buffers are told apart by an id assigned on first sight (a destroyed buffer's id is never seen
 * again, so its entries only go stale). The cache starts over when it holds `capacity` groups,
 * which bounds those stale entries.
 */
export class BindGroupCache {
  #ids = new WeakMap<GPUBuffer, number>();
  #nextId = 1;
  #groups = new Map<GPUBindGroupLayout, Map<string, GPUBindGroup>>();
  #size = 0;
  #hits = 0;
  #misses = 0;

  constructor(readonly capacity = 4096) {}

  /** Hits and misses since creation, and the groups held now. */
  get stats(): { hits: number; misses: number; size: number } {
    return { hits: this.#hits, misses: this.#misses, size: this.#size };
  }

  /** The bind group of `layout` over `buffers`, created on a miss. */
  get(device: GPUDevice, layout: GPUBindGroupLayout, buffers: BindGroupBuffers): GPUBindGroup {
    let key = `${this.#id(buffers.uniform)}:${buffers.uniformSize}`;
    for (const s of buffers.storage) key += `,${this.#id(s.buffer!)}:${s.byteSize}`;
    let byKey = this.#groups.get(layout);
    const cached = byKey?.get(key);
    if (cached) {
      this.#hits++;
      return cached;
    }
    this.#misses++;
    if (this.#size >= this.capacity) this.clear();
    const group = device.createBindGroup({
      layout,
      entries: [
        { binding: 0, resource: { buffer: buffers.uniform, offset: 0, size: buffers.uniformSize } },
        ...buffers.storage.map((s, i) => ({ binding: i + 1, resource: { buffer: s.buffer!, offset: 0, size: s.byteSize } })),
      ],
    });
    byKey = this.#groups.get(layout);
    if (!byKey) {
      byKey = new Map();
      this.#groups.set(layout, byKey);
    }
    byKey.set(key, group);
    this.#size++;
    return group;
  }

  /** Drops every cached group (the buffers keep their ids). */
  clear(): void {
    this.#groups.clear();
    this.#size = 0;
  }

  #id(buffer: GPUBuffer): number {
    let id = this.#ids.get(buffer);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(buffer, id);
    }
    return id;
  }
}
