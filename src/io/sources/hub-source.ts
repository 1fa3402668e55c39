import { ModelSourceError } from '../errors.js';
import { sha256FromEtag } from '../hash.js';
import { normalizeModelPath, type FileStat, type ModelSource } from './model-source.js';
import type { PinnableModelSource } from './pinnable-source.js';
import type { RangeRequest, RangeResponse } from './range-source.js';
import { UrlSource } from './url-source.js';

/** The public Hugging Face Hub. */
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** Options of `HubSource`. */
export interface HubSourceOptions {
  /** Branch, tag or commit (default `main`). */
  revision?: string;
  /** Hub root, for mirrors and tests (default `$HF_ENDPOINT` in Node, else `https://huggingface.co`). */
  endpoint?: string;
  /** Access token for private or gated repos; sent as `Authorization: Bearer`. */
  token?: string;
  fetch?: typeof fetch;
}

/** How long one HEAD's answer serves later asks for the same file. */
const STAT_REUSE_MS = 60_000;

const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]+$/;

/** A git commit id, as the Hub's `X-Repo-Commit` gives it (SHA-1; SHA-256 for repos that move to it). */
const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** One HEAD of a resolve URL: the file's metadata, and the commit the revision named then. */
interface Head {
  stat: FileStat;
  commit: string | null;
}

interface HeadEntry {
  at: number;
  head: Promise<Head>;
  /** Set once `head` settles, so a pinned source can reuse it synchronously. */
  value?: Head;
}

/**
 * A model repo on the Hugging Face Hub: files resolve to `<endpoint>/<repoId>/resolve/<revision>/<path>`.
 * `stat` reads the Hub's `X-Linked-Size` and `X-Linked-ETag` (the SHA-256 of an LFS file) from
 * the resolve answer itself, before its redirect to the CDN, and a download checks against them.
 */
export class HubSource extends UrlSource implements PinnableModelSource {
  readonly repoId: string;
  readonly revision: string;
  readonly #options: HubSourceOptions;

  constructor(repoId: string, options: HubSourceOptions = {}) {
    if (!REPO_ID.test(repoId) || repoId.split('/').some((p) => p === '.' || p === '..')) {
      throw new ModelSourceError('', repoId, `Invalid Hugging Face repo id "${repoId}": expected "owner/name".`);
    }
    const revision = options.revision ?? 'main';
    const endpoint = (options.endpoint ?? envEndpoint() ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
    super(`${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/`, {
      ...(options.fetch ? { fetch: options.fetch } : {}),
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      id: `hf/${new URL(endpoint).host}/${repoId}@${revision}`,
    });
    this.repoId = repoId;
    this.revision = revision;
    this.#options = options;
  }

  /**
   * The commit this revision names now, as `huggingface_hub` finds it: a 40-hex revision is its
   * own commit (no request); else one HEAD of `path` reads `X-Repo-Commit`, shared with `stat`
   * of that file and reused as briefly. A mirror that sends no commit leaves the revision as
   * given. In a browser the header is only readable on a file the Hub serves itself (a config,
   * not an LFS file behind a cross-origin redirect), which is what a load reads first.
   */
  async resolveRevision(options: { path?: string; signal?: AbortSignal } = {}): Promise<string> {
    if (COMMIT.test(this.revision)) return this.revision;
    const head = await this.#head(normalizeModelPath(options.path ?? 'model_index.json', this.id), options.signal);
    return head.commit ?? this.revision;
  }

  /**
   * The repo at `revision` (a commit from `resolveRevision`): same endpoint, token and `fetch`,
   * id `hf/<host>/<repo>@<commit>`. The HEADs this source made that named that commit serve it too.
   */
  atRevision(revision: string): ModelSource {
    if (revision === this.revision) return this;
    if (!COMMIT.test(revision)) {
      throw new ModelSourceError('', this.id, `Cannot pin ${this.id} to "${revision}": expected a 40-hex commit id.`);
    }
    let pinned = this.#pinned.get(revision);
    if (!pinned) {
      pinned = new HubSource(this.repoId, { ...this.#options, revision });
      this.#pinned.set(revision, pinned);
    }
    for (const [path, entry] of this.#heads) {
      if (entry.value?.commit === revision && !pinned.#heads.has(path)) pinned.#heads.set(path, entry);
    }
    return pinned;
  }

  readonly #pinned = new Map<string, HubSource>();

  /**
   * HEAD without following the redirect, as `huggingface_hub` does: an LFS file's size and
   * SHA-256 are on the Hub's 302, not on the CDN's answer. Where the redirect is opaque (a
   * browser) or carries no file metadata (a renamed repo), the redirect is followed.
   */
  protected override async statPath(path: string, signal: AbortSignal | undefined): Promise<FileStat> {
    return (await this.#head(path, signal)).stat;
  }

  /**
   * A load asks twice, for its `resolve` event and to check the download (and once more to pin
   * the revision): one HEAD serves all. Briefly, so a reused source still sees a branch that moved since.
   */
  #head(path: string, signal: AbortSignal | undefined): Promise<Head> {
    const now = Date.now();
    const known = this.#heads.get(path);
    if (known && now - known.at < STAT_REUSE_MS) return known.head;
    const entry: HeadEntry = { at: now, head: this.#fetchHead(path, signal) };
    entry.head.then(
      (value) => (entry.value = value),
      () => this.#heads.get(path) === entry && this.#heads.delete(path),
    );
    this.#heads.set(path, entry);
    return entry.head;
  }

  readonly #heads = new Map<string, HeadEntry>();

  async #fetchHead(path: string, signal: AbortSignal | undefined): Promise<Head> {
    const first = await this.request(path, 'HEAD', {}, signal, 'manual');
    const stated = first.type === 'opaqueredirect' ? null : first.headers.get('x-repo-commit')?.trim().toLowerCase();
    const commit = stated && COMMIT.test(stated) ? stated : null;
    if (first.type !== 'opaqueredirect' && (first.ok || first.headers.has('x-linked-size'))) {
      const sha256 = this.sha256Of(first.headers);
      return { stat: { size: this.statedSize(first), ...(sha256 ? { sha256 } : {}) }, commit };
    }
    // Followed for the metadata only: the commit is the Hub's own answer's, or unknown.
    return { stat: await super.statPath(path, signal), commit };
  }

  /** A download checked against the Hub's own size and SHA-256, which the CDN's answer lacks. */
  override async fetchRange(path: string, request: RangeRequest): Promise<RangeResponse> {
    const stat = await this.statPath(path, request.signal);
    const response = await super.fetchRange(path, request);
    return { ...response, size: stat.size ?? response.size, sha256: stat.sha256 ?? response.sha256 };
  }

  /** The Hub's `X-Linked-ETag`, else its `ETag` when that is a SHA-256 (a git file's is a SHA-1). */
  protected override sha256Of(headers: Headers): string | null {
    return super.sha256Of(headers) ?? sha256FromEtag(headers.get('etag'));
  }
}

function envEndpoint(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.HF_ENDPOINT || undefined;
}
