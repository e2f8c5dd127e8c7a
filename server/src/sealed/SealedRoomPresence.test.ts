import {
  CloseCode,
  EnvelopeKind,
  SealedMessage,
  ZERO_HASH,
  encodeDeviceMessage,
} from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { rejectedFor } from '../sync/roomHarness.testkit.js';
import { ofType, sealedEnvelope, sealedTestbed, settle } from './sealedHarness.testkit.js';

const { setup } = sealedTestbed();

describe('presence in a sealed room', () => {
  it('is relayed to the other devices, not back to the sender, and never stored', async () => {
    const { room, storage, spaceId, device } = await setup();
    const [alex, sam] = [device(), device()];
    alex.hello();
    sam.hello();
    await settle(room);
    alex.received();
    sam.received();

    const sent = alex.presence();
    await settle(room);

    expect(ofType(sam.received(), SealedMessage.presenceRelay).map((m) => m.envelope)).toEqual([
      sent,
    ]);
    expect(alex.received()).toEqual([]);
    expect(await storage.loadEnvelopes(spaceId, 0)).toEqual({
      snapshot: null,
      envelopes: [],
      head: 0,
    });
    expect(await storage.storedBytes(spaceId)).toBe(0);
  });

  it('reaches a device that arrives later, after its backlog', async () => {
    const { room, device } = await setup();
    const alex = device();
    alex.hello();
    alex.submit();
    const latest = [alex.presence(), alex.presence()][1];
    await settle(room);
    const sam = device();
    sam.hello();
    await settle(room);
    const messages = sam.received();
    expect(messages.map((m) => m.type)).toEqual([
      SealedMessage.backlog,
      SealedMessage.presenceRelay,
    ]);
    expect(ofType(messages, SealedMessage.presenceRelay)[0]?.envelope).toEqual(latest);
  });

  it('tells the others a stream left when its socket closes, unless another socket still writes it', async () => {
    const { room, device } = await setup();
    const [alex, sam] = [device(), device()];
    alex.hello();
    sam.hello();
    alex.presence();
    const reconnected = alex.again();
    reconnected.connect();
    reconnected.hello();
    await settle(room);
    sam.received();

    alex.disconnect();
    await settle(room);
    expect(ofType(sam.received(), SealedMessage.left)).toEqual([]);

    reconnected.disconnect();
    await settle(room);
    expect(ofType(sam.received(), SealedMessage.left)).toEqual([
      { type: SealedMessage.left, author: alex.key, stream: alex.stream },
    ]);
    const later = device();
    later.hello();
    await settle(room);
    expect(ofType(later.received(), SealedMessage.presenceRelay)).toEqual([]);
  });

  it('closes with 4413 a presence state over the limit, and with 4409 one of another device', async () => {
    const { room, spaceId, device, metrics } = await setup({
      limits: { awarenessStateBytes: 256 },
    });
    const [alex, sam, mallory] = [device(), device(), device()];
    for (const d of [alex, sam, mallory]) d.hello();
    alex.presence(256);
    sam.presence(257);
    const forged = sealedEnvelope({
      kind: EnvelopeKind.presence,
      spaceId,
      author: alex.key,
      stream: mallory.stream,
      counter: 1,
      prev: ZERO_HASH,
    });
    mallory.send(encodeDeviceMessage({ type: SealedMessage.presence, envelope: forged }));
    await settle(room);
    expect(alex.socket.closedWith).toBeNull();
    expect(sam.socket.closedWith).toBe(CloseCode.awarenessTooLarge);
    expect(mallory.socket.closedWith).toBe(CloseCode.chainConflict);
    expect(await rejectedFor(metrics, 'presence-too-large')).toBe(1);
    expect(await rejectedFor(metrics, 'not-the-author')).toBe(1);
  });
});
