import { randomBytes } from 'node:crypto';
import { CloseCode, EnvelopeKind, SealedMessage, ZERO_HASH, type SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import type { SealedLoad } from '../storage/SealedLog.js';
import { rejectedFor } from '../sync/roomHarness.testkit.js';
import { envelopeHash } from './sealedInput.js';
import type { TestDevice } from './sealedHarness.testkit.js';
import { ofType, sealedEnvelope, sealedTestbed, seqsOf, settle } from './sealedHarness.testkit.js';

const { setup } = sealedTestbed();

describe('a sealed room', () => {
  it('stores envelopes in one order, acks each to its device and relays it to the others', async () => {
    const { room, storage, spaceId, device } = await setup();
    const [alex, sam] = [device(), device()];
    alex.hello();
    sam.hello();
    await settle(room);
    alex.received();
    sam.received();

    const sent = [alex.submit(), alex.submit(), sam.submit(), alex.submit()];
    await settle(room);

    const atAlex = alex.received();
    const atSam = sam.received();
    expect(ofType(atAlex, SealedMessage.ack).map((a) => [a.counter, a.seq])).toEqual([
      [1, 1],
      [2, 2],
      [3, 4],
    ]);
    expect(ofType(atAlex, SealedMessage.envelope).map((e) => e.seq)).toEqual([3]);
    expect(ofType(atSam, SealedMessage.envelope).map((e) => e.seq)).toEqual([1, 2, 4]);
    expect(ofType(atSam, SealedMessage.ack).map((a) => a.seq)).toEqual([3]);
    expect(seqsOf(atAlex)).toEqual([1, 2, 3, 4]);
    expect(seqsOf(atSam)).toEqual([1, 2, 3, 4]);
    const stored = await storage.loadEnvelopes(spaceId, 0);
    expect(stored.envelopes.map((e) => Buffer.from(e.envelope))).toEqual(
      sent.map((bytes) => Buffer.from(bytes)),
    );
  });

  it('acks a resent envelope again with its seq and stores it once, also after a reconnect', async () => {
    const { room, storage, spaceId, device, metrics } = await setup();
    const alex = device();
    alex.hello();
    const first = alex.submit();
    alex.submit();
    await settle(room);
    alex.received();

    alex.submit(first);
    await settle(room);
    expect(ofType(alex.received(), SealedMessage.ack)).toEqual([
      { type: SealedMessage.ack, stream: alex.stream, counter: 1, seq: 1 },
    ]);

    alex.disconnect();
    const again = alex.again();
    again.connect();
    again.hello(0);
    again.submit(first);
    again.submit(alex.chain[1]);
    await settle(room);
    const messages = again.received();
    expect(ofType(messages, SealedMessage.ack).map((a) => a.seq)).toEqual([1, 2]);
    expect(ofType(messages, SealedMessage.backlog)[0]?.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(again.socket.closedWith).toBeNull();
    expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(2);
    expect((await metrics.sealedDuplicates.get()).values[0]?.value).toBe(3);
  });

  it('stores an envelope of an earlier stream of the same device (its outbox after a reload)', async () => {
    const { room, storage, spaceId, device } = await setup();
    const alex = device();
    alex.hello();
    const earlier = sealedEnvelope({
      kind: EnvelopeKind.update,
      spaceId,
      author: alex.key,
      stream: alex.stream + 1,
      counter: 1,
      prev: ZERO_HASH,
    });
    alex.submit(earlier);
    await settle(room);
    expect(alex.socket.closedWith).toBeNull();
    expect(ofType(alex.received(), SealedMessage.ack)).toEqual([
      expect.objectContaining({ stream: alex.stream + 1, counter: 1, seq: 1 }),
    ]);
    expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(1);
  });

  it('stores and relays carried envelopes (a converted space’s old writes) on their chain, like updates', async () => {
    const { room, storage, spaceId, device } = await setup();
    const [alex, sam] = [device(), device()];
    alex.hello();
    sam.hello();
    alex.submit(alex.next(EnvelopeKind.member));
    alex.submit(alex.next(EnvelopeKind.carried, 4096));
    sam.submit(sam.next(EnvelopeKind.carried));
    await settle(room);
    expect(ofType(alex.received(), SealedMessage.ack).map((a) => a.seq)).toEqual([1, 2]);
    expect(ofType(sam.received(), SealedMessage.envelope).map((e) => e.seq)).toEqual([1, 2]);
    expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(3);
    // Held to the chain rules as any update: a second carried envelope at counter 2 conflicts.
    const fork = sealedEnvelope({
      kind: EnvelopeKind.carried,
      spaceId,
      author: alex.key,
      stream: alex.stream,
      counter: 2,
      prev: envelopeHash(alex.chain[0] ?? new Uint8Array()),
    });
    alex.submit(fork);
    await settle(room);
    expect(alex.socket.closedWith).toBe(CloseCode.chainConflict);
    expect(sam.socket.closedWith).toBeNull();
    expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(3);
  });

  describe('closes with 4409, storing nothing, an envelope that', () => {
    async function refused(
      build: (ctx: { spaceId: SpaceId; alex: TestDevice; sam: TestDevice }) => Uint8Array,
      reason: Parameters<typeof rejectedFor>[1],
    ): Promise<void> {
      const { room, storage, spaceId, device, metrics } = await setup();
      const [alex, sam] = [device(), device()];
      alex.hello();
      sam.hello();
      alex.submit();
      const bad = build({ spaceId, alex, sam });
      await settle(room);
      const head = (await storage.loadEnvelopes(spaceId, 0)).head;
      sam.submit(bad);
      await settle(room);
      expect(sam.socket.closedWith).toBe(CloseCode.chainConflict);
      expect(await rejectedFor(metrics, reason)).toBe(1);
      expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(head);
      // The other device goes on.
      alex.submit();
      await settle(room);
      expect(alex.socket.closedWith).toBeNull();
      expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(head + 1);
    }

    const header = (d: TestDevice) => ({
      kind: EnvelopeKind.update,
      spaceId: d.spaceId,
      author: d.key,
      stream: d.stream,
      counter: 1,
      prev: ZERO_HASH,
    });

    it('names another device as its author', async () => {
      await refused(
        ({ alex, sam }) => sealedEnvelope({ ...header(sam), author: alex.key }),
        'not-the-author',
      );
    });

    it('belongs to another space', async () => {
      const other = randomBytes(16).toString('base64url') as SpaceId;
      await refused(({ sam }) => sealedEnvelope({ ...header(sam), spaceId: other }), 'wrong-space');
    });

    it('skips ahead in its chain', async () => {
      await refused(
        ({ sam }) =>
          sealedEnvelope({ ...header(sam), counter: 2, prev: envelopeHash(randomBytes(9)) }),
        'chain-conflict',
      );
    });

    it('forks its chain', async () => {
      await refused(({ sam }) => {
        sam.submit();
        return sealedEnvelope({ ...header(sam), counter: 2, prev: envelopeHash(randomBytes(9)) });
      }, 'chain-conflict');
    });

    it('writes at a counter its stream already holds', async () => {
      await refused(({ sam }) => {
        sam.submit();
        return sealedEnvelope(header(sam));
      }, 'chain-conflict');
    });

    it('continues a stream another device claimed', async () => {
      const { room, storage, spaceId, device } = await setup();
      const alex = device();
      alex.hello();
      const claimed = alex.submit();
      await settle(room);
      const thief = device(undefined, alex.stream);
      thief.hello();
      thief.submit(
        sealedEnvelope({
          kind: EnvelopeKind.update,
          spaceId,
          author: thief.key,
          stream: alex.stream,
          counter: 2,
          prev: envelopeHash(claimed),
        }),
      );
      await settle(room);
      expect(thief.socket.closedWith).toBe(CloseCode.chainConflict);
      expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(1);
    });

    it('comes on a stream other than the one a first hello named, in a second hello', async () => {
      const { room, device } = await setup();
      const alex = device();
      alex.hello(0);
      alex.hello(0, alex.stream + 1);
      await settle(room);
      expect(alex.socket.closedWith).toBe(CloseCode.chainConflict);
    });
  });

  it('stores and relays member and link statements on a stream, chained like updates', async () => {
    const { room, storage, spaceId, device } = await setup();
    const [alex, sam] = [device(), device()];
    alex.hello();
    sam.hello();
    await settle(room);
    sam.received();
    alex.submit(alex.next(EnvelopeKind.member));
    alex.submit(alex.next(EnvelopeKind.keys));
    alex.submit();
    await settle(room);
    expect(alex.socket.closedWith).toBeNull();
    expect(ofType(alex.received(), SealedMessage.ack).map((a) => a.seq)).toEqual([1, 2, 3]);
    expect(ofType(sam.received(), SealedMessage.envelope).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await storage.loadEnvelopes(spaceId, 0)).head).toBe(3);
  });

  it('closes with 4400 what it cannot read, an envelope before hello and one of the wrong kind', async () => {
    const { room, device, metrics } = await setup();
    const garbled = device();
    garbled.send(new Uint8Array([SealedMessage.submit, 5, 1, 2]));
    const early = device();
    early.submit();
    const wrongKind = device();
    wrongKind.hello();
    wrongKind.submit(wrongKind.next(EnvelopeKind.presence));
    await settle(room);
    for (const d of [garbled, early, wrongKind])
      expect(d.socket.closedWith).toBe(CloseCode.badMessage);
    expect(await rejectedFor(metrics, 'no-hello')).toBe(1);
    expect(await rejectedFor(metrics, 'wrong-kind')).toBe(1);
  });

  describe('answers hello', () => {
    it('with what follows `since`, then live envelopes', async () => {
      const { room, device } = await setup();
      const alex = device();
      alex.hello();
      for (let i = 0; i < 3; i++) alex.submit();
      await settle(room);
      const sam = device();
      sam.hello(1);
      await settle(room);
      alex.submit();
      await settle(room);
      const messages = sam.received();
      expect(messages[0]).toMatchObject({ type: SealedMessage.backlog, head: 3, last: true });
      expect(seqsOf(messages)).toEqual([2, 3, 4]);
    });

    it('in parts of at most 1 MiB, the last one marked', async () => {
      const { room, device } = await setup();
      const alex = device();
      alex.hello();
      for (let i = 0; i < 5; i++) alex.submit(alex.next(EnvelopeKind.update, 400 * 1024));
      await settle(room);
      const sam = device();
      sam.hello();
      await settle(room);
      const parts = ofType(sam.received(), SealedMessage.backlog);
      expect(parts.map((p) => p.entries.map((e) => e.seq))).toEqual([[1, 2], [3, 4], [5]]);
      expect(parts.map((p) => p.last)).toEqual([false, false, true]);
      expect(parts.every((p) => p.head === 5)).toBe(true);
    });

    for (const when of ['before', 'after'] as const) {
      it(`with no gap or duplicate when envelopes are stored while the backlog is read (read ${when} they land)`, async () => {
        const storage = new SlowLoads();
        const { room, device } = await setup({ storage });
        const alex = device();
        alex.hello();
        alex.submit();
        alex.submit();
        await settle(room);

        const sam = device();
        storage.hold(when);
        sam.hello();
        alex.submit();
        alex.submit();
        await settle(room);
        expect(sam.received()).toEqual([]);
        storage.release();
        await settle(room);
        alex.submit();
        await settle(room);

        const messages = sam.received();
        expect(messages[0]?.type).toBe(SealedMessage.backlog);
        expect(seqsOf(messages)).toEqual([1, 2, 3, 4, 5]);
      });
    }
  });
});

/** Storage whose next backlog read waits until `release`, reading the log before or after. */
class SlowLoads extends MemoryAdapter {
  #mode: 'before' | 'after' | null = null;
  #release: (() => void) | null = null;
  #gate: Promise<void> = Promise.resolve();

  hold(mode: 'before' | 'after'): void {
    this.#mode = mode;
    this.#gate = new Promise((resolve) => (this.#release = resolve));
  }

  release(): void {
    this.#release?.();
  }

  override async loadEnvelopes(spaceId: SpaceId, since: number): Promise<SealedLoad> {
    const mode = this.#mode;
    if (mode === null || since === Number.MAX_SAFE_INTEGER) {
      return super.loadEnvelopes(spaceId, since);
    }
    this.#mode = null;
    const early = mode === 'before' ? await super.loadEnvelopes(spaceId, since) : null;
    await this.#gate;
    return early ?? super.loadEnvelopes(spaceId, since);
  }
}
