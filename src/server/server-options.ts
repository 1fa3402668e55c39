import { describeValue } from '../api/errors.js';
import { API_KEY_PATTERN } from './api-key.js';
import { ImageServerOptionError } from './errors.js';

/**
 * Settings of `createImageServer`. The defaults suit a server open to strangers: every wait
 * a client can cause is bounded in time, and every size it can send is bounded in bytes.
 */
export interface ImageServerOptions {
  /** Largest request body, in bytes (default 1 MiB); larger ones are answered 413, before `100 Continue`. */
  maxBodyBytes?: number;
  /** Deepest nesting of arrays and objects in a request body (default 32); deeper is 400. */
  maxJsonDepth?: number;
  /** Requests that may wait behind the one running (default 32); more are answered 503. */
  maxQueuedRequests?: number;
  /** Largest width and height a request may ask for (default 2048). */
  maxImageSize?: number;
  /** Longest `prompt` and `negative_prompt`, in characters (default 4096); longer ones are 422. */
  maxPromptLength?: number;
  /** Connections open at once (default 128); further ones are closed as they arrive. */
  maxConnections?: number;
  /**
   * Time a client has to send a request's headers, from its first byte or from the connection
   * (default 10000 ms); then the connection is closed with 408. Stops slowloris clients and
   * connections that never send anything.
   */
  headersTimeoutMs?: number;
  /**
   * Time a client has to send a whole request, headers and body (default 30000 ms; at least
   * `headersTimeoutMs`); then the connection is closed with 408. Stops bodies that stall. The
   * generation itself is not timed: once the request is in, the client may wait for it.
   */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open after an answer (default 5000 ms). */
  keepAliveTimeoutMs?: number;
  /**
   * Key every request but `GET /health` must send as `Authorization: Bearer <key>` (default:
   * none, no key asked); visible ASCII only. A missing or wrong key is 401.
   */
  apiKey?: string;
  /**
   * Host names (or addresses) the `Host` header may name, besides localhost, 127.0.0.1, [::1]
   * and the host given to `listen` (default: none besides those); `"*"` allows any. Other
   * hosts are answered 403: this stops DNS rebinding, web pages reaching a local server through
   * a name of their own.
   */
  allowedHosts?: readonly string[];
  /** Receives one line per answered request, and notes such as a client that went away. */
  log?: (line: string) => void;
}

/** `ImageServerOptions` with every default filled in. */
export type ResolvedImageServerOptions = Required<Omit<ImageServerOptions, 'apiKey' | 'log'>> & Pick<ImageServerOptions, 'apiKey' | 'log'>;

/** The defaults of `ImageServerOptions`, also those of `omni-diffusion serve`. */
export const IMAGE_SERVER_DEFAULTS: Readonly<Required<Omit<ImageServerOptions, 'apiKey' | 'log'>>> = {
  maxBodyBytes: 1024 * 1024,
  maxJsonDepth: 32,
  maxQueuedRequests: 32,
  maxImageSize: 2048,
  maxPromptLength: 4096,
  maxConnections: 128,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  allowedHosts: [],
};

/** Fills in the defaults and checks every value; a bad one is an `ImageServerOptionError` naming it. */
export function resolveImageServerOptions(options: ImageServerOptions): ResolvedImageServerOptions {
  const resolved: ResolvedImageServerOptions = { ...IMAGE_SERVER_DEFAULTS, ...withoutUndefined(options) };
  const integer = (name: keyof typeof IMAGE_SERVER_DEFAULTS, min: number): void => {
    const value = resolved[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new ImageServerOptionError(name, `expected an integer of at least ${min}, got ${String(value)}.`);
    }
  };
  integer('maxBodyBytes', 1);
  integer('maxJsonDepth', 1);
  integer('maxQueuedRequests', 0);
  integer('maxImageSize', 8);
  integer('maxPromptLength', 1);
  integer('maxConnections', 1);
  integer('headersTimeoutMs', 1);
  integer('requestTimeoutMs', 1);
  integer('keepAliveTimeoutMs', 1);
  if (resolved.requestTimeoutMs < resolved.headersTimeoutMs) {
    throw new ImageServerOptionError('requestTimeoutMs', `${resolved.requestTimeoutMs} is shorter than headersTimeoutMs (${resolved.headersTimeoutMs}); the whole request cannot take less time than its headers.`);
  }
  if (resolved.apiKey !== undefined && !API_KEY_PATTERN.test(resolved.apiKey)) {
    throw new ImageServerOptionError('apiKey', 'expected visible ASCII characters (no spaces or control characters), at least one.');
  }
  for (const host of resolved.allowedHosts) {
    if (typeof host !== 'string' || host.trim() === '' || /[\s/]/.test(host) || host.split(':').length === 2) {
      throw new ImageServerOptionError('allowedHosts', `${describeValue(host)} is not a host name: give names or addresses without scheme, port or path, e.g. "images.example.com".`);
    }
  }
  return resolved;
}

function withoutUndefined(options: ImageServerOptions): ImageServerOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ImageServerOptions;
}
