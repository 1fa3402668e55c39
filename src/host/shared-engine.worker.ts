import * as Comlink from 'comlink';
import { EngineHost } from './engine-host.js';
import { withSerializedErrors } from './remote-errors.js';
import { SharedEngineHost } from './shared-engine-host.js';

/**
 * SharedWorker entry of the `external` executor: every page (or component) that connects gets
 * a client of the same engine host, so they share one GPU device and one loaded model.
 */
const shared = new SharedEngineHost(() => new EngineHost());

(globalThis as unknown as { onconnect: (event: MessageEvent) => void }).onconnect = (event) => {
  Comlink.expose(withSerializedErrors(shared.connect()), event.ports[0]!);
};
