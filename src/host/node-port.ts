import type { Endpoint } from 'comlink';

/** A `worker_threads` MessagePort: events through `on`/`off`, with the message itself as argument. */
export interface NodeMessagePort {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(type: 'message', listener: (data: unknown) => void): unknown;
  off(type: 'message', listener: (data: unknown) => void): unknown;
  start?(): void;
  close?(): void;
}

/** Whether `port` speaks Node's event-emitter dialect rather than the DOM's. */
export function isNodePort(port: object): port is NodeMessagePort {
  return typeof (port as { on?: unknown }).on === 'function' && typeof (port as { off?: unknown }).off === 'function';
}

/**
 * A comlink endpoint over a Node port: comlink listens for DOM-style `{ data }` events, Node
 * ports emit the bare message.
 */
export function nodePortEndpoint(port: NodeMessagePort): Endpoint {
  const wrapped = new Map<EventListenerOrEventListenerObject, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: Transferable[]) => port.postMessage(message, transfer),
    addEventListener: (_type: string, listener: EventListenerOrEventListenerObject) => {
      const onMessage = (data: unknown): void => {
        const event = { data } as MessageEvent;
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      };
      wrapped.set(listener, onMessage);
      port.on('message', onMessage);
    },
    removeEventListener: (_type: string, listener: EventListenerOrEventListenerObject) => {
      const onMessage = wrapped.get(listener);
      if (!onMessage) return;
      port.off('message', onMessage);
      wrapped.delete(listener);
    },
    ...(port.start ? { start: () => port.start!() } : {}),
  };
}
