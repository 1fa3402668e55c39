/** `navigator.storage` where the page has it (secure contexts, windows and workers), else null. */
function storageManager(): StorageManager | null {
  const nav = (globalThis as { navigator?: { storage?: StorageManager } }).navigator;
  return nav?.storage && typeof nav.storage.estimate === 'function' ? nav.storage : null;
}

let asked: Promise<boolean | null> | null = null;

/**
 * Whether the browser keeps this origin's storage (the model cache) under storage pressure
 * instead of evicting it. The first call asks once per page with `navigator.storage.persist()`
 * (a window may grant it; a worker, where `persist` does not exist, only reads
 * `navigator.storage.persisted()`); later calls give the same answer. Null where there is no
 * such storage (Node, insecure contexts). The OPFS store calls it before its first download.
 */
export function storagePersisted(): Promise<boolean | null> {
  asked ??= (async () => {
    const storage = storageManager();
    if (!storage) return null;
    try {
      if (typeof storage.persist === 'function') return await storage.persist();
      if (typeof storage.persisted === 'function') return await storage.persisted();
    } catch {
      // A browser that refuses to answer (a sandboxed frame) keeps the default, best-effort storage.
    }
    return null;
  })();
  return asked;
}

/** Free bytes in this origin's quota (`quota - usage`), or null when the browser does not say. */
export async function storageAvailable(): Promise<number | null> {
  const storage = storageManager();
  if (!storage) return null;
  try {
    const { quota, usage } = await storage.estimate();
    return typeof quota === 'number' && typeof usage === 'number' ? Math.max(0, quota - usage) : null;
  } catch {
    return null;
  }
}
