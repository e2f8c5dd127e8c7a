import { setDisplayName } from '@mend/model';
import { decodeEnvelope, EnvelopeKind, SealedMessage } from '@mend/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { sha256, signSoon } from '../crypto.js';
import { openEnvelope } from '../envelopes.js';
import type { OutboxEntry } from '../local/records.js';
import { kindOf, Outbox } from './Outbox.js';
import { SealedProvider } from './SealedProvider.js';
import { FakeSocket } from './testing/fakeServer.js';
import { ALEX, createdAndJoined, Device, type Space } from './testing/sealedSpace.js';

/**
 * A change made on the page is signed by the platform's Ed25519 where it has one (`signSoon`),
 * asynchronously; these show that the envelopes, their order and the outbox are what sealing
 * at once gave: every change sealed, in its stream's order, each naming the one before.
 */

const providers: SealedProvider[] = [];

afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy();
  vi.restoreAllMocks();
});

/** Alex's device, synced, its provider open on a fake socket, its key ready on the platform. */
async function connectedAlex(awareness: Awareness | null = null) {
  const { space, alex, sam } = createdAndJoined();
  const device = new Device(space, ALEX, alex.identity);
  device.sync();
  const keys = device.identity.signing;
  signSoon(keys, new Uint8Array(0));
  await vi.waitFor(() => expect(signSoon(keys, new Uint8Array(0))).not.toBeNull());
  const stored: OutboxEntry[] = [];
  const outbox = new Outbox([], { put: (entry) => stored.push(entry), drop: () => {} });
  const socket = new FakeSocket();
  const provider = new SealedProvider({
    replica: device.replica,
    awareness,
    identity: device.identity,
    keyring: device.keyring,
    outbox,
    partnerId: device.partnerId,
    openSocket: () => socket,
    reconnectDelay: () => null,
  });
  providers.push(provider);
  socket.open();
  socket.serve({
    type: SealedMessage.backlog,
    head: space.log.entries.length,
    last: true,
    entries: [],
  });
  expect(provider.synced).toBe(true);
  return { space, sam, device, provider, socket, stored };
}

const rename = (provider: SealedProvider, displayName: string) =>
  setDisplayName(provider.doc, { partnerId: ALEX, displayName });

/** Every envelope Sam's device takes in from the log after `space`'s current end. */
function takenBySam(space: Space, sam: Device, envelopes: readonly Uint8Array[]) {
  for (const envelope of envelopes) space.log.append(envelope);
  return sam.sync().map((receipt) => receipt.kind);
}

describe('SealedProvider signing with the platform', () => {
  it('sends a change once the platform has signed it, counted as waiting meanwhile', async () => {
    const { space, sam, provider, socket, stored } = await connectedAlex();
    rename(provider, 'Alex, soon');
    expect(socket.submitted()).toEqual([]);
    expect(provider.waiting).toBe(1);
    await vi.waitFor(() => expect(socket.submitted()).toHaveLength(1));
    expect(provider.waiting).toBe(1);
    expect(stored.map((e) => e.envelope)).toEqual(socket.submitted());
    expect(takenBySam(space, sam, socket.submitted())).toEqual(['applied']);
  });

  it('keeps a stream’s order and chain when changes come faster than signatures', async () => {
    const { space, sam, provider, socket } = await connectedAlex();
    for (let i = 0; i < 5; i++) rename(provider, `Alex ${i}`);
    expect(provider.waiting).toBe(5);
    await vi.waitFor(() => expect(socket.submitted()).toHaveLength(5));
    const sent = socket.submitted().map((bytes) => ({ bytes, envelope: decodeEnvelope(bytes) }));
    expect(sent.map((s) => s.envelope.counter)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < sent.length; i++) {
      expect(sent[i]!.envelope.prev).toEqual(sha256(sent[i - 1]!.bytes));
    }
    expect(takenBySam(space, sam, socket.submitted())).toEqual(Array(5).fill('applied'));
  });

  it('seals a statement asked for while a change is being signed after it, both by the platform', async () => {
    const { provider, socket } = await connectedAlex();
    const subtle = globalThis.crypto.subtle;
    const platform = vi.spyOn(subtle, 'sign');
    rename(provider, 'Alex, first');
    const keys = provider.submitKeys(new Uint8Array([1, 2, 3]));
    keys.catch(() => {}); // destroyed unanswered at the end
    // Neither is sealed yet: the statement waits its turn instead of finishing the change.
    expect(socket.submitted()).toEqual([]);
    expect(provider.waiting).toBe(2);
    await vi.waitFor(() => expect(socket.submitted()).toHaveLength(2));
    const sent = socket.submitted().map(decodeEnvelope);
    expect(sent.map((e) => [e.kind, e.counter])).toEqual([
      [EnvelopeKind.update, 1],
      [EnvelopeKind.keys, 2],
    ]);
    expect(platform).toHaveBeenCalledTimes(2);
  });

  it('sends a change on a new stream after the change before it, however the signatures come', async () => {
    const { space, sam, provider, socket } = await connectedAlex();
    const subtle = globalThis.crypto.subtle;
    const real = subtle.sign.bind(subtle);
    let calls = 0;
    // The first signature comes late, the second at once.
    vi.spyOn(subtle, 'sign').mockImplementation(async (...args) => {
      if (calls++ === 0) await new Promise((resolve) => setTimeout(resolve, 30));
      return real(...args);
    });
    rename(provider, 'Alex, on the first stream');
    const first = provider.doc.clientID;
    provider.doc.clientID = first + 1;
    rename(provider, 'Alex, building on it');
    await vi.waitFor(() => expect(socket.submitted()).toHaveLength(2));
    expect(socket.submitted().map((bytes) => decodeEnvelope(bytes).stream)).toEqual([
      first,
      first + 1,
    ]);
    expect(takenBySam(space, sam, socket.submitted())).toEqual(['applied', 'applied']);
  });

  it('keeps a change whose signature has not come when the page goes, signed by noble', async () => {
    const { space, sam, provider, socket, stored } = await connectedAlex();
    rename(provider, 'Alex, leaving');
    provider.destroy();
    expect(stored).toHaveLength(1);
    expect(socket.submitted()).toEqual([stored[0]!.envelope]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stored).toHaveLength(1);
    expect(takenBySam(space, sam, [stored[0]!.envelope])).toEqual(['applied']);
  });

  it('stores a change still being signed when the page may be going (settle), and goes on', async () => {
    const { space, sam, provider, socket, stored } = await connectedAlex();
    rename(provider, 'Alex, hidden');
    expect(stored).toEqual([]);
    provider.settle();
    expect(stored.map((e) => e.counter)).toEqual([1]);
    expect(socket.submitted()).toEqual([stored[0]!.envelope]);
    // The page stays: the platform's late signature adds nothing, and the next change follows.
    rename(provider, 'Alex, back');
    await vi.waitFor(() => expect(socket.submitted()).toHaveLength(2));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stored.map((e) => e.counter)).toEqual([1, 2]);
    expect(socket.submitted()).toEqual(stored.map((e) => e.envelope));
    expect(takenBySam(space, sam, socket.submitted())).toEqual(['applied', 'applied']);
  });

  it('keeps a statement waiting behind a change still being signed when the page goes', async () => {
    const { provider, stored } = await connectedAlex();
    rename(provider, 'Alex, leaving');
    provider.submitKeys(new Uint8Array([4, 5, 6])).catch(() => {}); // closed unanswered
    expect(stored).toEqual([]);
    provider.destroy();
    expect(stored.map((e) => [kindOf(e.envelope), e.counter])).toEqual([
      [EnvelopeKind.update, 1],
      [EnvelopeKind.keys, 2],
    ]);
  });

  it('signs with noble when the platform fails to', async () => {
    const { space, sam, provider, socket } = await connectedAlex();
    vi.spyOn(globalThis.crypto.subtle, 'sign').mockRejectedValue(new Error('gone'));
    rename(provider, 'Alex, anyway');
    await vi.waitFor(() => expect(socket.submitted()).toHaveLength(1));
    expect(takenBySam(space, sam, socket.submitted())).toEqual(['applied']);
  });

  it('sends presence once signed, and nothing on a socket closed meanwhile', async () => {
    const awareness = new Awareness(new Y.Doc());
    const { device, socket } = await connectedAlex(awareness);
    const presence = () =>
      socket.sent.flatMap((m) => (m.type === SealedMessage.presence ? [m.envelope] : []));
    // The state the socket opened with goes first.
    await vi.waitFor(() => expect(presence()).toHaveLength(1));
    awareness.setLocalStateField('cursor', { at: 1 });
    expect(presence()).toHaveLength(1);
    await vi.waitFor(() => expect(presence()).toHaveLength(2));
    const opened = openEnvelope(presence()[1]!, device.keyring);
    expect(JSON.parse(new TextDecoder().decode(opened.payload))).toMatchObject({
      cursor: { at: 1 },
    });
    awareness.setLocalStateField('cursor', { at: 2 });
    socket.close(1006, 'gone');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(presence()).toHaveLength(2);
    awareness.destroy();
  });
});
