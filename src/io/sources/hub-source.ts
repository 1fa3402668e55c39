import { ModelSourceError } from '../errors.js';
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

const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]+$/;

/** A model repo on the Hugging Face Hub: files resolve to `<endpoint>/<repoId>/resolve/<revision>/<path>`. */
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
}

function envEndpoint(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.HF_ENDPOINT || undefined;
}
