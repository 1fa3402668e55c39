import { NodeFolderCache } from '../../io/cache-node.js';
import { clearModelCache, deleteCachedModel, listCachedModels, type CachedModelInfo } from '../../io/cache-manage.js';
import { CliUsageError, type CommandSpec } from '../args.js';

/**
 * `omni-diffusion cache list|rm <model>|clear`: the downloaded models in the Node cache folder
 * (`$OMNI_DIFFUSION_CACHE`, else `~/.cache/omni-diffusion`, or `--dir`). `list` prints one line
 * per model (id, size, files, last use; `--json` for a machine-readable list); `rm` takes a cache
 * id or a Hub repo id (`owner/name`, all revisions, or `owner/name@revision`) and exits 1 when
 * nothing matched; `clear` deletes every model.
 */
export const cacheCommand: CommandSpec = {
  name: 'cache',
  summary: 'List, delete or clear the downloaded models in the cache folder.',
  usage: 'cache list [--json] | cache rm <model> | cache clear   [--dir <cache folder>]',
  options: [
    { name: 'dir', type: 'string', description: 'the cache folder (default $OMNI_DIFFUSION_CACHE, else ~/.cache/omni-diffusion)' },
    { name: 'json', type: 'boolean', description: 'list: print the models as JSON' },
  ],
  async run(args, io) {
    const [action, ...rest] = args.positionals;
    const dir = args.options.dir;
    const cache = new NodeFolderCache(typeof dir === 'string' ? dir : undefined);
    switch (action) {
      case 'list': {
        if (rest.length > 0) throw new CliUsageError('cache list takes no model');
        const models = await listCachedModels({ cache });
        if (args.options.json === true) io.out(`${JSON.stringify(models, null, 2)}\n`);
        else if (models.length === 0) io.out(`No cached models in ${await cache.root()}.\n`);
        else for (const m of models) io.out(`${formatModel(m)}\n`);
        return 0;
      }
      case 'rm': {
        if (rest.length !== 1) throw new CliUsageError('cache rm expects exactly one model (a cache id, or a Hub repo id owner/name[@revision])');
        const deleted = await deleteCachedModel(rest[0]!, { cache });
        if (deleted.length === 0) {
          io.err(`omni-diffusion cache: no cached model matches "${rest[0]}" in ${await cache.root()} (see "omni-diffusion cache list").\n`);
          return 1;
        }
        for (const id of deleted) io.out(`deleted ${id}\n`);
        return 0;
      }
      case 'clear': {
        if (rest.length > 0) throw new CliUsageError('cache clear takes no model');
        const count = (await listCachedModels({ cache })).length;
        await clearModelCache({ cache });
        io.out(`deleted ${count} model${count === 1 ? '' : 's'} from ${await cache.root()}\n`);
        return 0;
      }
      default:
        throw new CliUsageError(action === undefined ? 'expects an action: list, rm or clear' : `unknown action "${action}": expected list, rm or clear`);
    }
  },
};

function formatModel(m: CachedModelInfo): string {
  const partial = m.files.filter((f) => !f.complete).length;
  const files = `${m.files.length} file${m.files.length === 1 ? '' : 's'}${partial ? ` (${partial} partial)` : ''}`;
  const used = m.lastUsed ? `last used ${m.lastUsed.toISOString()}` : 'never used';
  return `${m.id}  ${formatBytes(m.bytes)}  ${files}  ${used}`;
}

/** Bytes in binary units, as `du -h` shows them. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
