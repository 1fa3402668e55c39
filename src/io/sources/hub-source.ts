import { ModelSourceError } from '../errors.js';
import { sha256FromEtag } from '../hash.js';
import type { FileStat } from './model-source.js';
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

/**
 * A model repo on the Hugging Face Hub: files resolve to `<endpoint>/<repoId>/resolve/<revision>/<path>`.
 * `stat` reads the Hub's `X-Linked-Size` and `X-Linked-ETag` (the SHA-256 of an LFS file) from
 * the resolve answer itself, before its redirect to the CDN, and a download checks against them.
 */
export class HubSource extends UrlSource {
  readonly repoId: string;
  readonly revision: string;

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
  }

  /**
   * HEAD without following the redirect, as `huggingface_hub` does: an LFS file's size and
   * SHA-256 are on the Hub's 302, not on the CDN's answer. Where the redirect is opaque (a
   * browser) or carries no file metadata (a renamed repo), the redirect is followed.
   */
  protected override statPath(path: string, signal: AbortSignal | undefined): Promise<FileStat> {
    // A load asks twice, for its `resolve` event and to check the download: one HEAD serves both.
    // Briefly, so a reused source still sees a branch that moved since.
    const now = Date.now();
    const known = this.#stats.get(path);
    if (known && now - known.at < STAT_REUSE_MS) return known.stat;
    const stat = this.#headStat(path, signal);
    this.#stats.set(path, { at: now, stat });
    stat.catch(() => this.#stats.delete(path));
    return stat;
  }

  readonly #stats = new Map<string, { at: number; stat: Promise<FileStat> }>();

  async #headStat(path: string, signal: AbortSignal | undefined): Promise<FileStat> {
    const first = await this.request(path, 'HEAD', {}, signal, 'manual');
    if (first.type !== 'opaqueredirect' && (first.ok || first.headers.has('x-linked-size'))) {
      const sha256 = this.sha256Of(first.headers);
      return { size: this.statedSize(first), ...(sha256 ? { sha256 } : {}) };
    }
    return super.statPath(path, signal);
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
