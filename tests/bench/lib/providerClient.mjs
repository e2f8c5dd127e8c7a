// A sealed-space device for the bench that is the app's own sync client: `SealedProvider` from
// @mend/sealed over a `ws` socket, with its outbox and the changes it holds while offline kept in
// memory (`memoryHeld`), where a page's SealedSession keeps them in IndexedDB. Where sealedClient.mjs rebuilds a device from
// the parts, this one measures what the provider itself does: its resend pacing, and how it
// seals what was written offline.
import { SEALED_SUBPROTOCOL } from '@mend/protocol';
import * as sealed from '@mend/sealed';
import WebSocket from 'ws';
import * as Y from 'yjs';

/**
 * @param {{ wsBase: string }} target
 * @param {import('./sealedClient.mjs').SealedDevice} device
 * @param {{ doc?: Y.Doc, connect?: boolean }} [options]
 */
export function createProviderClient(target, device, { doc = new Y.Doc(), connect = true } = {}) {
  const counter = { bytesIn: 0, messagesIn: 0, bytesOut: 0, messagesOut: 0 };
  const url = `${target.wsBase}/${device.spaceId}`;
  const replica = new sealed.SealedReplica({
    doc,
    keyring: device.keyring,
    creator: device.creator,
  });
  const setAside = [];
  const problems = [];
  const provider = new sealed.SealedProvider({
    replica,
    awareness: null,
    identity: device.identity,
    keyring: device.keyring,
    outbox: new sealed.Outbox(),
    // Built before SealedProvider held offline changes, the bench ran it without them.
    ...(sealed.memoryHeld ? { held: sealed.memoryHeld() } : {}),
    partnerId: device.partnerId,
    openSocket: () => {
      const ws = new WebSocket(url, [SEALED_SUBPROTOCOL], {
        headers: { Authorization: `Bearer ${device.token}` },
      });
      ws.on('message', (data) => {
        counter.bytesIn += data.byteLength;
        counter.messagesIn += 1;
      });
      const send = ws.send.bind(ws);
      ws.send = (data, ...rest) => {
        counter.bytesOut += data.byteLength;
        counter.messagesOut += 1;
        return send(data, ...rest);
      };
      return ws;
    },
    // The round decides when to connect; a close it did not ask for fails the round.
    reconnectDelay: () => null,
    connect,
  });
  provider.on('set-aside', (entry) => setAside.push(entry));
  provider.on('tamper', (detail) => problems.push(detail));
  const closedBy = () => {
    const s = provider.status;
    return s.kind === 'disconnected' && s.code !== 1000 ? s : null;
  };
  return {
    doc,
    replica,
    counter,
    setAside,
    problems,
    provider,
    ready: () =>
      new Promise((resolve, reject) => {
        const check = () => {
          const closed = closedBy();
          if (provider.synced) resolve();
          else if (closed)
            reject(new Error(`the sealed socket closed: ${closed.code} ${closed.reason}`));
          else return false;
          provider.off('status', check);
          return true;
        };
        if (!check()) provider.on('status', check);
      }),
    connect: () => provider.connect(),
    // Going offline loads what holds the changes made from then on (a person types later).
    disconnect: async () => {
      provider.disconnect();
      await provider.holdingReady?.();
    },
    destroy: () => provider.destroy(),
  };
}
