import { describeValue } from '../api/errors.js';
import { HttpError } from './errors.js';

/** Host names every server answers for: the loopback names (its bound host is added at `listen`). */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** Allows any Host header: for a server behind a proxy that checks Host itself. */
const ANY_HOST = '*';

/**
 * The Host check against DNS rebinding: a web page on `evil.example`, once its name resolves to
 * 127.0.0.1, can make the visitor's browser send requests here, but the browser still sends
 * `Host: evil.example`. Only requests naming one of the allowed hosts are answered; any port
 * is accepted (a port forward or proxy may change it), names compare case-insensitively and
 * without a trailing dot.
 */
export class AllowedHosts {
  readonly #names = new Set<string>();
  #any = false;

  constructor(names: Iterable<string>) {
    for (const name of names) this.add(name);
  }

  /** Allows `name` (a host name, IPv4 address, `[IPv6]` or bare IPv6 address, or `*`). */
  add(name: string): void {
    if (name === ANY_HOST) this.#any = true;
    else this.#names.add(normalise(name.includes(':') && !name.startsWith('[') ? `[${name}]` : name));
  }

  /** The names allowed, for messages. */
  get names(): string[] {
    return this.#any ? [ANY_HOST] : [...this.#names];
  }

  /** Throws a 403 naming the fix unless the `Host` header (as received) is allowed. */
  check(host: string | undefined): void {
    if (this.#any) return;
    if (host !== undefined && this.#names.has(normalise(stripPort(host)))) return;
    const shown = host === undefined ? 'no Host header' : `Host ${describeValue(host)}`;
    throw new HttpError(
      403,
      `This server does not answer for ${shown}: it answers for ${this.names.join(', ')}. ` +
        'If that name is this server, add it with --allowed-hosts (allowedHosts in code), or "*" to allow any.',
    );
  }
}

/** `example.com:8000` → `example.com`, `[::1]:8000` → `[::1]`. */
function stripPort(host: string): string {
  const trimmed = host.trim();
  if (trimmed.startsWith('[')) {
    const end = trimmed.indexOf(']');
    return end === -1 ? trimmed : trimmed.slice(0, end + 1);
  }
  const colon = trimmed.indexOf(':');
  return colon === -1 ? trimmed : trimmed.slice(0, colon);
}

function normalise(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
