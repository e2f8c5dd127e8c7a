import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CloseCode,
  EnvelopeKind,
  SealedMessage,
  ZERO_HASH,
  type ServerMessage,
} from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { encodeMembersEnded } from '../pubsub/membersEnded.js';
import { MemoryPubSub } from '../pubsub/MemoryPubSub.js';
import type { PubSub } from '../pubsub/PubSub.js';
import { newSpaceId } from '../pubsub/pubsubContract.testkit.js';
import { oneCutOff } from '../pubsub/redisNodes.testkit.js';
import { BusKind, SpaceBus } from '../pubsub/SpaceBus.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import { SqliteAdapter } from '../storage/SqliteAdapter.js';
import type { StorageAdapter } from '../storage/StorageAdapter.js';
import { tempDirsPerTest } from '../tempDirs.testkit.js';
import { envelopeHash } from './sealedInput.js';
import { ofType, sealedEnvelope, sealedTestbed, seqsOf, settle } from './sealedHarness.testkit.js';

const { setup } = sealedTestbed();
const tempDir = tempDirsPerTest('mend-sealed-nodes-');
const redisUrl = process.env.REDIS_URL;

/** Two server processes' rooms for one sealed space, over one storage and one pub/sub. */
async function twoNodes() {
  const storage = new MemoryAdapter();
  const pubsub = new MemoryPubSub();
  return { storage, ...(await nodesOver(storage, [pubsub, pubsub])) };
}

/**
 * Two server processes' rooms for one sealed space over `storage`, each with the pub/sub it
 * reaches, and a device on each, past its backlog.
 */
async function nodesOver(storage: StorageAdapter, [first, second]: readonly [PubSub, PubSub]) {
  const one = await setup({ storage, pubsub: first });
  const two = await setup({ storage, pubsub: second, spaceId: one.spaceId });
  const alex = one.device();
  const sam = two.device();
  alex.hello();
  sam.hello();
  await settle(one.room, two.room);
  alex.received();
  sam.received();
  return { one, two, alex, sam };
}

/** Stores an envelope of a third device straight into storage, as a node whose publish was lost. */
async function storedElsewhere(
  storage: MemoryAdapter,
  spaceId: Parameters<MemoryAdapter['appendEnvelope']>[0],
) {
  const author = new Uint8Array(32).fill(9);
  const envelope = sealedEnvelope({
    kind: EnvelopeKind.update,
    spaceId,
    author,
    stream: 99,
    counter: 1,
    prev: ZERO_HASH,
  });
  const result = await storage.appendEnvelope(spaceId, {
    author,
    stream: 99,
    counter: 1,
    prev: ZERO_HASH,
    hash: envelopeHash(envelope),
    envelope,
  });
  if (result.outcome !== 'stored') throw new Error('not stored');
  return { seq: result.seq, envelope };
}

describe('sealed rooms of one space on two nodes', () => {
  it('hand each node’s devices the other’s envelopes once, in seq order', async () => {
    const { one, two, alex, sam } = await twoNodes();
    alex.submit();
    sam.submit();
    alex.submit();
    await settle(one.room, two.room);
    const atAlex = alex.received();
    const atSam = sam.received();
    expect(seqsOf(atAlex)).toEqual([1, 2, 3]);
    expect(seqsOf(atSam)).toEqual([1, 2, 3]);
    expect(ofType(atSam, SealedMessage.envelope).map((e) => e.envelope)).toEqual([
      alex.chain[0],
      alex.chain[1],
    ]);
  });

  it('read an envelope a node missed on the bus from storage before relaying the next one', async () => {
    const { storage, one, two, alex, sam } = await twoNodes();
    const missed = await storedElsewhere(storage, one.spaceId);
    alex.submit();
    await settle(one.room, two.room);
    const atSam = ofType(sam.received(), SealedMessage.envelope);
    expect(atSam.map((e) => e.seq)).toEqual([1, 2]);
    expect(atSam[0]?.envelope).toEqual(missed.envelope);
    expect((await two.metrics.sealedGapLoads.get()).values[0]?.value).toBe(1);
  });

  it('catch up with storage after a pub/sub outage, even with no later envelope to show the gap', async () => {
    const { storage, two, sam } = await twoNodes();
    const missed = await storedElsewhere(storage, two.spaceId);
    await two.room.resyncFromStorage();
    expect(ofType(sam.received(), SealedMessage.envelope)).toEqual([
      { type: SealedMessage.envelope, seq: missed.seq, envelope: missed.envelope },
    ]);
  });

  it('catch up with storage when another node says it dropped messages of the space', async () => {
    const { storage, one, two, sam } = await twoNodes();
    const missed = await storedElsewhere(storage, two.spaceId);
    const droppingNode = new SpaceBus(one.pubsub);
    await droppingNode.publish(two.spaceId, BusKind.catchUp, new Uint8Array(0));
    await settle(one.room, two.room);
    expect(ofType(sam.received(), SealedMessage.envelope)).toEqual([
      { type: SealedMessage.envelope, seq: missed.seq, envelope: missed.envelope },
    ]);
  });

  it('hand a device revoked on another node to the transport at once, even while catching up, and keep serving the rest', async () => {
    const { storage, one, two, alex, sam } = await twoNodes();
    // Node two is reading a gap from storage: what arrives from the bus waits meanwhile.
    let readGap = (): void => {};
    const gate = new Promise<void>((resolve) => (readGap = resolve));
    const loadEnvelopes = storage.loadEnvelopes.bind(storage);
    storage.loadEnvelopes = async (...args) => {
      await gate;
      return loadEnvelopes(...args);
    };
    const catchingUp = two.room.resyncFromStorage();

    const revokingNode = new SpaceBus(one.pubsub);
    const ended = { code: CloseCode.revoked, members: ['device:s:k'] } as const;
    await revokingNode.publish(one.spaceId, BusKind.membersEnded, encodeMembersEnded(ended));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(one.closedMembers).toEqual([ended]);
    expect(two.closedMembers).toEqual([ended]);

    readGap();
    await catchingUp;
    alex.submit();
    await settle(one.room, two.room);
    expect(seqsOf(sam.received())).toEqual([1]);
  });

  it('relay presence and a stream leaving across nodes, and a device arriving on the other node learns who is here', async () => {
    const { one, two, alex, sam } = await twoNodes();
    const presence = alex.presence();
    await settle(one.room, two.room);
    expect(ofType(sam.received(), SealedMessage.presenceRelay).map((m) => m.envelope)).toEqual([
      presence,
    ]);
    const late = two.device();
    late.hello();
    await settle(two.room);
    expect(ofType(late.received(), SealedMessage.presenceRelay).map((m) => m.envelope)).toEqual([
      presence,
    ]);

    alex.disconnect();
    await settle(one.room, two.room);
    expect(ofType(sam.received(), SealedMessage.left)).toEqual([
      { type: SealedMessage.left, author: alex.key, stream: alex.stream },
    ]);
    const later = two.device();
    later.hello();
    await settle(two.room);
    expect(ofType(later.received(), SealedMessage.presenceRelay)).toEqual([]);
  });
});

describe.skipIf(!redisUrl)('sealed rooms of one space on two nodes over Redis', () => {
  it('hand a device on the other node every envelope, without reconnecting, that its node stored while it lost Redis and dropped their messages', async () => {
    const storage = new SqliteAdapter(path.join(tempDir(), 'mend.db'));
    await storage.migrate();
    // Node one reaches Redis through a link that the test cuts; node two never loses it, so
    // it has no outage of its own to resync after.
    const nodes = await oneCutOff(redisUrl ?? '', { unsentLimit: 4096 });
    const { one, two, alex, sam } = await nodesOver(storage, [nodes.a, nodes.b]);
    try {
      const lost = nodes.logA.waitFor('error', /redis unreachable/);
      await nodes.link.cut();
      await lost;
      for (let i = 0; i < 3; i++) alex.submit();
      await settle(one.room);
      expect(seqsOf(alex.received())).toEqual([1, 2, 3]);
      // Another room's edits on node one push this space's messages out of the backlog: nothing
      // later of this space reaches node two to show it the gap.
      await nodes.a.publish(newSpaceId(), new Uint8Array(4096));
      expect(nodes.logA.lines.some((l) => /backlog full/.test(l.msg))).toBe(true);

      nodes.link.restore();
      const atSam: ServerMessage[] = [];
      // Across Redis there is no event to wait on here: a bounded wait (at most 10 s).
      for (let i = 0; i < 500 && seqsOf(atSam).length < 3; i++) {
        await sleep(20);
        await settle(two.room);
        atSam.push(...sam.received());
      }
      expect(seqsOf(atSam)).toEqual([1, 2, 3]);
      expect(ofType(atSam, SealedMessage.envelope).map((e) => e.envelope)).toEqual(alex.chain);
    } finally {
      await one.room.close();
      await two.room.close();
      await nodes.close();
      await storage.close();
    }
  });
});
