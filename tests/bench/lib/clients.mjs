// Stock clients, as a developer would use them: y-websocket's WebsocketProvider (Hocuspocus's own
// provider for Hocuspocus), in Node over `ws`. Mend's socket carries the partner's token in an
// Authorization header, added by a `ws` subclass passed as the WebSocket polyfill. Sealed spaces
// get the bench's sealed device (sealedClient.mjs).
import { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { createProviderClient } from './providerClient.mjs';
import { createSealedClient } from './sealedClient.mjs';
import { isSealed } from './targets.mjs';

// Every provider registers a process 'exit' listener; thousands of them are expected here.
process.setMaxListeners(0);

function socketClass(token, counter) {
  const options = token ? { headers: { Authorization: `Bearer ${token}` } } : {};
  return class BenchSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, options);
      this.on('message', (data) => {
        counter.bytesIn += data.byteLength;
        counter.messagesIn += 1;
      });
    }

    send(data, ...rest) {
      counter.bytesOut += data.byteLength;
      counter.messagesOut += 1;
      return super.send(data, ...rest);
    }
  };
}

/**
 * Partner `side` (0 or 1) of a couple from `launch`: its token, and for sealed spaces its device.
 * @param {{ room: string, tokens: Array<string|null>, devices?: any[] }} couple
 */
export function partnerClient(target, couple, side, options = {}) {
  return createClient(target, couple.room, {
    token: couple.tokens[side],
    device: couple.devices?.[side],
    ...options,
  });
}

/**
 * @param {{ name: string, wsBase: string }} target
 * @param {string} room
 * @param {{ token?: string|null, device?: any, doc?: Y.Doc, connect?: boolean, batchOffline?: boolean, renewPresence?: boolean, provider?: boolean }} [options]
 *   device, batchOffline, renewPresence: for `mend-sealed` (sealedClient.mjs); provider: the
 *   device is the app's SealedProvider instead (providerClient.mjs)
 */
export function createClient(
  target,
  room,
  { token = null, device = null, doc = new Y.Doc(), connect = true, ...sealed } = {},
) {
  if (isSealed(target.name)) {
    if (!device) throw new Error('a sealed space needs the partner’s device');
    if (sealed.provider) return createProviderClient(target, device, { doc, connect });
    return createSealedClient(target, device, { doc, connect, ...sealed });
  }
  const counter = { bytesIn: 0, messagesIn: 0, bytesOut: 0, messagesOut: 0 };
  const WebSocketPolyfill = socketClass(token, counter);
  if (target.name === 'hocuspocus') {
    const provider = new HocuspocusProvider({
      url: target.wsBase,
      name: room,
      document: doc,
      token: 'bench',
      WebSocketPolyfill,
      autoConnect: connect,
    });
    return {
      doc,
      provider,
      counter,
      ready: () =>
        provider.isSynced
          ? Promise.resolve()
          : new Promise((resolve) => {
              const onSynced = ({ state }) => {
                if (state) {
                  provider.off('synced', onSynced);
                  resolve();
                }
              };
              provider.on('synced', onSynced);
            }),
      connect: () => provider.connect(),
      // The socket closes asynchronously, and until it has, connect() is a no-op and edits are
      // queued for it: resolve only once it is really gone.
      disconnect: () => {
        const socket = provider.configuration.websocketProvider;
        const closed =
          socket.status === 'disconnected'
            ? Promise.resolve()
            : new Promise((resolve) => {
                const listener = ({ status }) => {
                  if (status === 'disconnected') {
                    socket.off('status', listener);
                    resolve();
                  }
                };
                socket.on('status', listener);
              });
        provider.disconnect();
        return closed;
      },
      destroy: () => provider.destroy(),
    };
  }
  // BroadcastChannel exists in Node 20: without disableBc the two partners, living in this one
  // process, would sync through it and never through the server.
  const provider = new WebsocketProvider(target.wsBase, room, doc, {
    WebSocketPolyfill,
    disableBc: true,
    connect,
  });
  // A relay has no document, so nobody answers a lone client's sync step 1: an open socket is
  // all the readiness it can offer.
  const relay = target.name === 'relay';
  return {
    doc,
    provider,
    counter,
    ready: () =>
      (relay ? provider.wsconnected : provider.synced)
        ? Promise.resolve()
        : new Promise((resolve) => {
            const event = relay ? 'status' : 'sync';
            const listener = (value) => {
              if (relay ? value.status === 'connected' : value) {
                provider.off(event, listener);
                resolve();
              }
            };
            provider.on(event, listener);
          }),
    connect: () => provider.connect(),
    disconnect: async () => provider.disconnect(),
    destroy: () => provider.destroy(),
  };
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function pool(items, limit, task) {
  let next = 0;
  const results = new Array(items.length);
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
