import { afterEach, beforeEach } from 'vitest';
import type { HTTPDiffusionExecutor } from '../../../../src/index.js';
import { FaultServer } from '../../../helpers/fault-server.js';

/** A fresh loopback `FaultServer` for each test, and the executors a test opens, closed after it. */
export interface PerTestServer {
  /** This test's server (a new one per test). */
  readonly server: FaultServer;
  /** Closes `executor` after the test. */
  track(executor: HTTPDiffusionExecutor): HTTPDiffusionExecutor;
  /** Starts a new server in place of one the test closed (it is closed after the test in turn). */
  restart(): Promise<void>;
}

export function perTestServer(): PerTestServer {
  let server: FaultServer | null = null;
  const executors: HTTPDiffusionExecutor[] = [];
  beforeEach(async () => {
    server = await FaultServer.start();
  });
  afterEach(async () => {
    await Promise.all(executors.splice(0).map((e) => e.close()));
    await server?.close();
  });
  return {
    get server(): FaultServer {
      if (!server) throw new Error('perTestServer: the server exists inside a test only');
      return server;
    },
    track(executor) {
      executors.push(executor);
      return executor;
    },
    async restart() {
      server = await FaultServer.start();
    },
  };
}
