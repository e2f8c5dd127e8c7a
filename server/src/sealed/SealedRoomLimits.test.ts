import { CloseCode, SealedMessage, type SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import type { SealedAppendResult, SealedEntry } from '../storage/SealedLog.js';
import { rejectedFor } from '../sync/roomHarness.testkit.js';
import { envelopeHash } from './sealedInput.js';
import { ofType, sealedTestbed, seqsOf, settle } from './sealedHarness.testkit.js';

const { setup } = sealedTestbed();

describe('snapshots in a sealed room', () => {
  it('are stored when they cover the log as stored, and served in place of what they cover', async () => {
    const { room, storage, spaceId, device, metrics } = await setup();
    const alex = device();
    alex.hello();
    for (let i = 0; i < 3; i++) alex.submit();
    await settle(room);
    alex.received();

    const snapshot = alex.snapshot(2, envelopeHash(alex.chain[1] ?? new Uint8Array()));
    await settle(room);
    expect(ofType(alex.received(), SealedMessage.snapshotResult)).toEqual([
      { type: SealedMessage.snapshotResult, coversSeq: 2, stored: true, reason: '' },
    ]);

    const fresh = device();
    fresh.hello(0);
    const caughtUp = device();
    caughtUp.hello(2);
    await settle(room);
    const backlog = ofType(fresh.received(), SealedMessage.backlog)[0];
    expect(backlog?.entries.map((e) => e.seq)).toEqual([2, 3]);
    expect(backlog?.entries[0]?.envelope).toEqual(snapshot);
    expect(seqsOf(caughtUp.received())).toEqual([3]);

    // The chain goes on from the stream head the snapshot left in place.
    alex.submit();
    await settle(room);
    expect(ofType(alex.received(), SealedMessage.ack).map((a) => a.seq)).toEqual([4]);
    expect((await storage.loadEnvelopes(spaceId, 0)).envelopes.map((e) => e.seq)).toEqual([3, 4]);
    const stored = await metrics.sealedSnapshots.get();
    expect(stored.values.find((v) => v.labels.result === 'stored')?.value).toBe(1);
  });

  it('are refused, with the reason, when stale, covering another envelope, or beyond the head', async () => {
    const { room, storage, spaceId, device } = await setup();
    const alex = device();
    alex.hello();
    for (let i = 0; i < 3; i++) alex.submit();
    await settle(room);
    const hashAt = (counter: number) => envelopeHash(alex.chain[counter - 1] ?? new Uint8Array());
    alex.snapshot(2, hashAt(2));
    await settle(room);
    alex.received();

    alex.snapshot(2, hashAt(2));
    alex.snapshot(3, hashAt(2));
    alex.snapshot(9, hashAt(3));
    await settle(room);

    const results = ofType(alex.received(), SealedMessage.snapshotResult);
    expect(results.map((r) => [r.coversSeq, r.stored, r.reason])).toEqual([
      [2, false, 'stale'],
      [3, false, 'mismatch'],
      [9, false, 'beyond-head'],
    ]);
    expect(alex.socket.closedWith).toBeNull();
    const loaded = await storage.loadEnvelopes(spaceId, 0);
    expect(loaded.snapshot?.coversSeq).toBe(2);
    expect(loaded.envelopes.map((e) => e.seq)).toEqual([3]);
  });
});

describe('limits of a sealed room', () => {
  it('refuses with 4507 an envelope past the space quota, storing nothing of it, and serves the rest', async () => {
    const { room, storage, spaceId, device, metrics } = await setup({ maxSpaceBytes: 600 });
    const [alex, sam] = [device(), device()];
    alex.hello();
    sam.hello();
    let stored = 0;
    while (stored + 400 <= 600) {
      stored += alex.submit(alex.next(undefined, 200)).byteLength;
      await settle(room);
    }
    alex.submit(alex.next(undefined, 200));
    await settle(room);
    expect(alex.socket.closedWith).toBe(CloseCode.spaceFull);
    expect(await rejectedFor(metrics, 'space-full')).toBe(1);
    expect(await storage.storedBytes(spaceId)).toBe(stored);
    const reader = device();
    reader.hello();
    await settle(room);
    expect(seqsOf(reader.received()).length).toBe((await storage.loadEnvelopes(spaceId, 0)).head);
    expect(sam.socket.closedWith).toBeNull();
  });

  it('closes with 1013 a socket past its message budget, and turns away sockets past the room’s', async () => {
    const { room, device } = await setup({ limits: { messageBurst: 3, socketsPerSpace: 2 } });
    const alex = device();
    alex.hello();
    alex.submit();
    alex.submit();
    alex.submit();
    await settle(room);
    expect(alex.socket.closedWith).toBe(CloseCode.tooMany);
    const [, , third] = [device(), device(), device()];
    expect(third.socket.closedWith).toBe(CloseCode.tooMany);
  });

  it('closes every socket with 1011 when storage fails, and with 4404 once the space is gone', async () => {
    const storage = new FailingAppends();
    const { room, device } = await setup({ storage });
    const [alex, sam] = [device(), device()];
    alex.hello();
    sam.hello();
    storage.failNext = true;
    alex.submit();
    await settle(room);
    expect([alex.socket.closedWith, sam.socket.closedWith]).toEqual([
      CloseCode.serverError,
      CloseCode.serverError,
    ]);

    const second = await setup({ storage });
    const robin = second.device();
    robin.hello();
    await storage.deleteSpace(second.spaceId);
    robin.submit();
    await settle(second.room);
    expect(robin.socket.closedWith).toBe(CloseCode.spaceGone);
  });
});

/** Storage whose next append fails, as a full disk would. */
class FailingAppends extends MemoryAdapter {
  failNext = false;

  override async appendEnvelope(spaceId: SpaceId, entry: SealedEntry): Promise<SealedAppendResult> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    return super.appendEnvelope(spaceId, entry);
  }
}
