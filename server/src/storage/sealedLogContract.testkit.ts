import { createHash, randomBytes } from 'node:crypto';
import type { SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { ChainConflict, SnapshotRefusal, type SealedEntry, type SealedLog } from './SealedLog.js';
import type { StorageAdapter } from './StorageAdapter.js';
import {
  createSealedSpaceWithDevice,
  createSpaceWithPartner,
  migratedAdapterPerTest,
  newSpaceId,
  type DisposeAdapter,
  type OpenAdapter,
} from './storageFixtures.testkit.js';

/**
 * The sealed log's contract: every adapter (memory, SQLite, PostgreSQL) runs this suite, beside
 * the update log's and the space directory's.
 *
 *   defineSealedLogContract('SQLite', async () => openFreshAdapter(), async (a) => a.close());
 *
 * Envelopes here are random bytes: the log moves bytes and checks only the header fields it is
 * handed (author, stream, counter, prev, hash).
 */
export function defineSealedLogContract(
  name: string,
  open: OpenAdapter,
  dispose: DisposeAdapter = (adapter) => adapter.close(),
): void {
  describe(`sealed log contract: ${name}`, () => {
    let storage: StorageAdapter;
    let log: SealedLog;

    migratedAdapterPerTest(open, dispose, (opened) => {
      storage = opened;
      log = opened;
    });

    async function sealedSpace(): Promise<{ spaceId: SpaceId; author: Uint8Array }> {
      const { space, first } = await createSealedSpaceWithDevice(storage);
      return { spaceId: space.spaceId, author: first.signingKey };
    }

    /** Appends `count` chained envelopes to `chain` and returns their seqs. */
    async function appendChain(spaceId: SpaceId, chain: Chain, count: number): Promise<number[]> {
      const seqs: number[] = [];
      for (let i = 0; i < count; i++) {
        const result = await log.appendEnvelope(spaceId, chain.next());
        if (result.outcome !== 'stored') throw new Error(`not stored: ${JSON.stringify(result)}`);
        seqs.push(result.seq);
      }
      return seqs;
    }

    describe('appending and loading', () => {
      it('a new sealed space has no snapshot, no envelopes, head 0 and no stored bytes', async () => {
        const { spaceId } = await sealedSpace();
        expect(await log.loadEnvelopes(spaceId, 0)).toEqual({
          snapshot: null,
          envelopes: [],
          head: 0,
        });
        expect(await log.storedBytes(spaceId)).toBe(0);
      });

      it('numbers envelopes 1, 2, 3 within each space and gives them back byte for byte', async () => {
        const a = await sealedSpace();
        const b = await sealedSpace();
        const chainA = new Chain(a.author, 7);
        const chainB = new Chain(b.author, 7);
        expect(await appendChain(a.spaceId, chainA, 3)).toEqual([1, 2, 3]);
        expect(await appendChain(b.spaceId, chainB, 1)).toEqual([1]);
        const loaded = await log.loadEnvelopes(a.spaceId, 0);
        expect(loaded.head).toBe(3);
        expect(loaded.envelopes.map((e) => e.seq)).toEqual([1, 2, 3]);
        expect(loaded.envelopes.map((e) => Buffer.from(e.envelope))).toEqual(
          chainA.sent.map((e) => Buffer.from(e.envelope)),
        );
        expect(loaded.envelopes[0]?.envelope).toBeInstanceOf(Uint8Array);
      });

      it('loads only what follows `since`, and only the head from `since` at the head', async () => {
        const { spaceId, author } = await sealedSpace();
        await appendChain(spaceId, new Chain(author, 1), 4);
        const after2 = await log.loadEnvelopes(spaceId, 2);
        expect(after2.envelopes.map((e) => e.seq)).toEqual([3, 4]);
        expect(await log.loadEnvelopes(spaceId, 4)).toEqual({
          snapshot: null,
          envelopes: [],
          head: 4,
        });
      });

      it('interleaves streams of two devices in one order', async () => {
        const { spaceId, author } = await sealedSpace();
        const other = new Uint8Array(randomBytes(32));
        const mine = new Chain(author, 1);
        const theirs = new Chain(other, 2);
        const results = [];
        for (const chain of [mine, theirs, theirs, mine]) {
          results.push(await log.appendEnvelope(spaceId, chain.next()));
        }
        expect(results.map((r) => (r.outcome === 'stored' ? r.seq : r.outcome))).toEqual([
          1, 2, 3, 4,
        ]);
      });

      it('stores a stream’s envelopes appended all at once, without waiting, in chain order', async () => {
        const { spaceId, author } = await sealedSpace();
        const chain = new Chain(author, 3);
        const entries = Array.from({ length: 12 }, () => chain.next());
        const results = await Promise.all(entries.map((e) => log.appendEnvelope(spaceId, e)));
        expect(results.map((r) => (r.outcome === 'stored' ? r.seq : r.outcome))).toEqual(
          entries.map((_, i) => i + 1),
        );
      });

      it('many streams appending at once each get their own seq, with no gap', async () => {
        const { spaceId, author } = await sealedSpace();
        const chains = Array.from({ length: 20 }, (_, i) => new Chain(author, 100 + i));
        const results = await Promise.all(
          chains.map((chain) => log.appendEnvelope(spaceId, chain.next())),
        );
        const seqs = results.map((r) => (r.outcome === 'stored' ? r.seq : -1));
        expect([...seqs].sort((x, y) => x - y)).toEqual(
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
      });

      it('counts stored bytes of every envelope', async () => {
        const { spaceId, author } = await sealedSpace();
        const chain = new Chain(author, 1);
        await appendChain(spaceId, chain, 3);
        const total = chain.sent.reduce((sum, e) => sum + e.envelope.byteLength, 0);
        expect(await log.storedBytes(spaceId)).toBe(total);
      });

      it('refuses to append to a space that does not exist or is not sealed', async () => {
        const chain = new Chain(new Uint8Array(32), 1);
        await expect(log.appendEnvelope(newSpaceId(), chain.next())).rejects.toThrow();
        const { space } = await createSpaceWithPartner(storage);
        await expect(log.appendEnvelope(space.spaceId, chain.next())).rejects.toThrow();
        expect((await log.loadEnvelopes(space.spaceId, 0)).envelopes).toEqual([]);
      });
    });

    describe('chains', () => {
      it('a resend of a stored envelope is a duplicate with its seq, stored once', async () => {
        const { spaceId, author } = await sealedSpace();
        const chain = new Chain(author, 1);
        await appendChain(spaceId, chain, 2);
        expect(await log.appendEnvelope(spaceId, chain.at(1))).toEqual({
          outcome: 'duplicate',
          seq: 1,
        });
        expect(await log.appendEnvelope(spaceId, chain.at(2))).toEqual({
          outcome: 'duplicate',
          seq: 2,
        });
        expect((await log.loadEnvelopes(spaceId, 0)).envelopes).toHaveLength(2);
      });

      it('two resends of one envelope at the same moment store it once', async () => {
        const { spaceId, author } = await sealedSpace();
        const entry = new Chain(author, 1).next();
        const results = await Promise.all([
          log.appendEnvelope(spaceId, entry),
          log.appendEnvelope(spaceId, entry),
        ]);
        expect(results).toEqual(
          expect.arrayContaining([
            { outcome: 'stored', seq: 1 },
            { outcome: 'duplicate', seq: 1 },
          ]),
        );
      });

      it('two different envelopes for one counter at the same moment: one stored, one conflict', async () => {
        const { spaceId, author } = await sealedSpace();
        const [a, b] = [new Chain(author, 5).next(), new Chain(author, 5).next()];
        const results = await Promise.all([
          log.appendEnvelope(spaceId, a),
          log.appendEnvelope(spaceId, b),
        ]);
        expect(results).toEqual(
          expect.arrayContaining([
            { outcome: 'stored', seq: 1 },
            { outcome: 'conflict', reason: ChainConflict.counterTaken },
          ]),
        );
      });

      it('refuses a stream that starts past counter 1, a skip, a fork and a stolen stream', async () => {
        const { spaceId, author } = await sealedSpace();
        const chain = new Chain(author, 1);
        await appendChain(spaceId, chain, 2);
        const conflicts = [
          new Chain(author, 2).skip(1).next(),
          chain.skip(1).next(),
          { ...new Chain(author, 1).skip(2).next(), counter: 3, prev: hashOf(randomBytes(8)) },
          new Chain(new Uint8Array(randomBytes(32)), 1).nextAfter(chain.at(2)),
          { ...new Chain(author, 1).next(), counter: 2 },
        ];
        const results = [];
        for (const entry of conflicts) results.push(await log.appendEnvelope(spaceId, entry));
        expect(results).toEqual([
          { outcome: 'conflict', reason: ChainConflict.skipsAhead },
          { outcome: 'conflict', reason: ChainConflict.skipsAhead },
          { outcome: 'conflict', reason: ChainConflict.fork },
          { outcome: 'conflict', reason: ChainConflict.streamClaimed },
          { outcome: 'conflict', reason: ChainConflict.counterTaken },
        ]);
        expect((await log.loadEnvelopes(spaceId, 0)).head).toBe(2);
      });
    });

    describe('snapshots', () => {
      it('replace the envelopes they cover and keep the later ones', async () => {
        const { spaceId, author } = await sealedSpace();
        const chain = new Chain(author, 1);
        await appendChain(spaceId, chain, 4);
        const snapshot = snapshotOf(chain, 2);
        expect(await log.replaceWithSealedSnapshot(spaceId, snapshot)).toEqual({ stored: true });
        const fromStart = await log.loadEnvelopes(spaceId, 0);
        expect(fromStart.snapshot?.coversSeq).toBe(2);
        expect(Buffer.from(fromStart.snapshot?.envelope ?? [])).toEqual(
          Buffer.from(snapshot.envelope),
        );
        expect(fromStart.envelopes.map((e) => e.seq)).toEqual([3, 4]);
        expect(fromStart.head).toBe(4);
        const fromCovered = await log.loadEnvelopes(spaceId, 2);
        expect(fromCovered.snapshot).toBeNull();
        expect(fromCovered.envelopes.map((e) => e.seq)).toEqual([3, 4]);
        const total = snapshot.envelope.byteLength + sizeOf(chain, 3) + sizeOf(chain, 4);
        expect(await log.storedBytes(spaceId)).toBe(total);
      });

      it('refuse one beyond the head, one no newer than the stored one, and a wrong hash', async () => {
        const { spaceId, author } = await sealedSpace();
        const chain = new Chain(author, 1);
        await appendChain(spaceId, chain, 3);
        await log.replaceWithSealedSnapshot(spaceId, snapshotOf(chain, 2));
        const beyond = { ...snapshotOf(chain, 3), coversSeq: 4 };
        expect(await log.replaceWithSealedSnapshot(spaceId, beyond)).toEqual({
          stored: false,
          reason: SnapshotRefusal.beyondHead,
        });
        for (const covers of [1, 2]) {
          expect(await log.replaceWithSealedSnapshot(spaceId, snapshotOf(chain, covers))).toEqual({
            stored: false,
            reason: SnapshotRefusal.stale,
          });
        }
        const wrongHash = { ...snapshotOf(chain, 3), coversHash: hashOf(randomBytes(8)) };
        expect(await log.replaceWithSealedSnapshot(spaceId, wrongHash)).toEqual({
          stored: false,
          reason: SnapshotRefusal.mismatch,
        });
        const loaded = await log.loadEnvelopes(spaceId, 0);
        expect(loaded.snapshot?.coversSeq).toBe(2);
        expect(loaded.envelopes.map((e) => e.seq)).toEqual([3]);
      });

      it('leave stream heads in place: chains continue, resends are duplicates, forks conflicts', async () => {
        const { spaceId, author } = await sealedSpace();
        const chain = new Chain(author, 1);
        await appendChain(spaceId, chain, 3);
        await log.replaceWithSealedSnapshot(spaceId, snapshotOf(chain, 3));
        expect(await log.loadEnvelopes(spaceId, 3)).toEqual({
          snapshot: null,
          envelopes: [],
          head: 3,
        });
        expect(await log.appendEnvelope(spaceId, chain.at(3))).toEqual({
          outcome: 'duplicate',
          seq: 0,
        });
        expect(await log.appendEnvelope(spaceId, chain.at(1))).toEqual({
          outcome: 'duplicate',
          seq: 0,
        });
        const fork = { ...chain.at(3), hash: hashOf(randomBytes(8)) };
        expect(await log.appendEnvelope(spaceId, fork)).toEqual({
          outcome: 'conflict',
          reason: ChainConflict.counterTaken,
        });
        expect(await appendChain(spaceId, chain, 1)).toEqual([4]);
        const stolen = new Chain(new Uint8Array(randomBytes(32)), 1).nextAfter(chain.at(4));
        expect(await log.appendEnvelope(spaceId, stolen)).toEqual({
          outcome: 'conflict',
          reason: ChainConflict.streamClaimed,
        });
      });
    });

    describe('deleting a space', () => {
      it('removes its envelopes, stream heads and snapshot, and a late append fails', async () => {
        const { spaceId, author } = await sealedSpace();
        const chain = new Chain(author, 1);
        await appendChain(spaceId, chain, 2);
        await log.replaceWithSealedSnapshot(spaceId, snapshotOf(chain, 1));

        await log.deleteSpace(spaceId);

        expect(await log.loadEnvelopes(spaceId, 0)).toEqual({
          snapshot: null,
          envelopes: [],
          head: 0,
        });
        expect(await log.storedBytes(spaceId)).toBe(0);
        await expect(log.appendEnvelope(spaceId, chain.next())).rejects.toThrow();
      });

      it('leaves other spaces’ envelopes untouched', async () => {
        const a = await sealedSpace();
        const b = await sealedSpace();
        await appendChain(b.spaceId, new Chain(b.author, 1), 1);
        await log.deleteSpace(a.spaceId);
        expect((await log.loadEnvelopes(b.spaceId, 0)).envelopes).toHaveLength(1);
      });
    });
  });
}

/** One stream of one author: builds chained entries of random envelope bytes. */
class Chain {
  readonly sent: SealedEntry[] = [];
  #counter = 0;
  #prev: Uint8Array = new Uint8Array(32);

  constructor(
    readonly author: Uint8Array,
    readonly stream: number,
  ) {}

  /** The next entry of the chain (remembered, so the chain moves on). */
  next(): SealedEntry {
    const envelope = new Uint8Array(randomBytes(40 + this.sent.length));
    const entry: SealedEntry = {
      author: this.author,
      stream: this.stream,
      counter: ++this.#counter,
      prev: this.#prev,
      hash: hashOf(envelope),
      envelope,
    };
    this.#prev = entry.hash;
    this.sent.push(entry);
    return entry;
  }

  /** An entry that follows `previous` (of another author's chain): a stolen stream. */
  nextAfter(previous: SealedEntry): SealedEntry {
    const envelope = new Uint8Array(randomBytes(40));
    return {
      author: this.author,
      stream: previous.stream,
      counter: previous.counter + 1,
      prev: previous.hash,
      hash: hashOf(envelope),
      envelope,
    };
  }

  /** Moves the counter on without appending (to build a skip). */
  skip(n: number): this {
    for (let i = 0; i < n; i++) this.next();
    return this;
  }

  at(counter: number): SealedEntry {
    const entry = this.sent[counter - 1];
    if (!entry) throw new Error(`no entry at counter ${counter}`);
    return entry;
  }
}

/** A snapshot covering the chain's seqs 1..covers (seq = counter when one chain wrote them). */
function snapshotOf(chain: Chain, covers: number) {
  return {
    coversSeq: covers,
    coversHash: chain.at(covers).hash,
    envelope: new Uint8Array(randomBytes(64)),
  };
}

function sizeOf(chain: Chain, counter: number): number {
  return chain.at(counter).envelope.byteLength;
}

function hashOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}
