import * as Comlink from 'comlink';
import { ExecutorDeadError } from '../../api/errors.js';
import type { EngineHostApi } from '../../host/protocol.js';
import type { HostLauncher, LaunchedHost } from '../../host/host-connection.js';
import { isNodePort, nodePortEndpoint, type NodeMessagePort } from '../../host/node-port.js';

/** What `DiffusionConfig.port` of the `external` executor may be. */
export type ExternalHostPort = MessagePort | Comlink.Endpoint | NodeMessagePort;

function closePort(port: ExternalHostPort): void {
  (port as { close?: () => void }).close?.();
}

/**
 * Lets go of an attached host: `dispose()` tells it this client is done (a shared host only
 * detaches the client), then the proxy and port are released. The host side may be gone
 * already, so a dispose that never answers is not waited for past `graceMs`.
 */
async function detach(host: Comlink.Remote<EngineHostApi>, port: ExternalHostPort, graceMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([host.dispose(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
  } finally {
    clearTimeout(timer);
    host[Comlink.releaseProxy]();
    closePort(port);
  }
}

/**
 * Attaches to the host behind `port`. A port carries one connection, so the launcher works
 * once: the executor cannot re-attach after letting go.
 */
export function attachToPort(port: ExternalHostPort, graceMs: number): HostLauncher {
  let used = false;
  return async (): Promise<LaunchedHost> => {
    if (used) throw new ExecutorDeadError('The external executor has let go of its port; create a new engine with a new port.');
    used = true;
    const endpoint = isNodePort(port) ? nodePortEndpoint(port) : port;
    const host = Comlink.wrap<EngineHostApi>(endpoint);
    return { host, remote: true, crashed: null, close: () => detach(host, port, graceMs), kill: () => closePort(port) };
  };
}

/**
 * Connects to the SharedWorker at `url` (started by the first page of the origin that asks
 * for it, joined by the others). A worker whose script fails is reported as a crash, and the
 * next request connects again.
 */
export function attachToSharedWorker(url: string | URL, name: string, graceMs: number): HostLauncher {
  return async (): Promise<LaunchedHost> => {
    const worker = new SharedWorker(url, { type: 'module', name });
    const crashed = new Promise<never>((_, reject) => {
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        reject(new ExecutorDeadError(`The shared engine worker at ${String(url)} failed: ${(event as ErrorEvent).message || 'its script did not load or threw'}`));
      });
    });
    crashed.catch(() => undefined);
    const host = Comlink.wrap<EngineHostApi>(worker.port);
    return {
      host,
      remote: true,
      crashed,
      close: () => detach(host, worker.port, graceMs),
      kill: () => worker.port.close(),
    };
  };
}
