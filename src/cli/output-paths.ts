import { basename, dirname, extname, join } from 'node:path';

/**
 * Where `count` images of one request go: `path` itself for one image; for more, a number before
 * the extension (`out.png` → `out-1.png`, `out-2.png`, ...), so every image keeps its own file.
 */
export function numberedPaths(path: string, count: number): string[] {
  if (count === 1) return [path];
  const ext = extname(path);
  const stem = basename(path, ext);
  return Array.from({ length: count }, (_, i) => join(dirname(path), `${stem}-${i + 1}${ext}`));
}
