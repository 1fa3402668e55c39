/**
 * How a cache key's `/`-separated parts become file and folder names, the same in the Node folder
 * and in OPFS so both stores lay a model out alike: each part URI-encoded (no separator or `%`
 * suffix of ours can appear in one), `.` and `..` spelled `%2E` so they name no other folder, and
 * the empty part `%00`.
 */
export function encodeKeyPart(part: string): string {
  return part === '.' || part === '..' ? part.replace(/\./g, '%2E') : encodeURIComponent(part) || '%00';
}

/** The key part a file or folder name stands for; a name that is not one of ours is kept as is. */
export function decodeKeyPart(name: string): string {
  if (name === '%00') return '';
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}
