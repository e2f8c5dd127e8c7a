import { roots, setDisplayName } from '@mend/model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SealedError, SealedErrorReason } from '../errors.js';
import { SpaceKeyring } from '../SpaceKeyring.js';
import { SealedReplica, type Receipt } from './SealedReplica.js';
import {
  ALEX,
  createdAndJoined,
  newSpace,
  SAM,
  spaceId,
  type Space,
} from './testing/sealedSpace.js';

const json = (doc: Y.Doc) => (roots(doc), doc.toJSON());

type Step = 'alex' | 'sam' | 'hostile' | 'garble' | 'drop';

/** Writes one step into the log; returns the seqs Sam's device wrote itself. */
function write(step: Step, i: number, space: Space, world: ReturnType<typeof createdAndJoined>) {
  const { alex, sam } = world;
  switch (step) {
    case 'alex':
      alex.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: `A${i}` }));
      return [];
    case 'sam':
      return [sam.edit((d) => setDisplayName(d, { partnerId: SAM, displayName: `S${i}` }))];
    case 'hostile':
      // Alex's device writes Sam's name: refused by the model's rules.
      alex.edit((d) => setDisplayName(d, { partnerId: SAM, displayName: `X${i}` }));
      return [];
    case 'garble': {
      const copy = space.log.entries.at(-1)!.slice();
      copy[copy.length - 70]! ^= 1 + (i % 255);
      space.log.append(copy);
      return [];
    }
    case 'drop': {
      // Sealed and never stored: Alex's next envelope shows the hole.
      alex.sealEdit((d) => setDisplayName(d, { partnerId: ALEX, displayName: `D${i}` }));
      return [];
    }
  }
}

function take(replica: SealedReplica, space: Space, own: Set<number>): Receipt[] {
  const receipts: Receipt[] = [];
  for (let seq = replica.since + 1; seq <= space.log.entries.length; seq++) {
    const bytes = space.log.entries[seq - 1]!;
    receipts.push(own.has(seq) ? replica.receiveOwn(seq, bytes) : replica.receive(seq, bytes));
  }
  return receipts;
}

function restoredCopy(of: SealedReplica, keyring: SpaceKeyring, creator: Uint8Array) {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(of.doc));
  return SealedReplica.restore({ doc, keyring, creator }, of.exportState());
}

describe('a replica’s state', () => {
  it('restores a replica that takes the next envelopes exactly as the original would', () => {
    const steps = fc.array(fc.constantFrom<Step>('alex', 'sam', 'hostile', 'garble', 'drop'), {
      maxLength: 8,
    });
    fc.assert(
      fc.property(steps, steps, (before, after) => {
        const world = createdAndJoined();
        const { space, sam } = world;
        const own = new Set<number>();
        const creator = space.creator.signing.publicKey;
        before.forEach((step, i) => write(step, i, space, world).forEach((s) => own.add(s)));
        take(sam.replica, space, own);
        const restored = restoredCopy(sam.replica, sam.keyring, creator);
        expect(restored.exportState()).toEqual(sam.replica.exportState());
        expect(restored.since).toBe(sam.replica.since);
        expect(restored.setAside).toEqual(sam.replica.setAside);
        expect(restored.snapshot()).toEqual(sam.replica.snapshot());

        after.forEach((step, i) => write(step, 100 + i, space, world).forEach((s) => own.add(s)));
        const theirs = take(restored, space, own);
        expect(theirs).toEqual(take(sam.replica, space, own));
        expect(restored.setAside).toEqual(sam.replica.setAside);
        expect(restored.since).toBe(sam.replica.since);
        expect(restored.members).toEqual(sam.replica.members);
        expect(restored.snapshot()).toEqual(sam.replica.snapshot());
        // Sam's own edits went into Sam's document, not the copy (a provider writes them).
        if (!after.includes('sam')) expect(json(restored.doc)).toEqual(json(sam.doc));
      }),
      { numRuns: 25 },
    );
  });

  it('keeps a passed-over gap and the last snapshot it knows of', () => {
    const { space, sam, alex } = createdAndJoined();
    alex.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: 'A1' }));
    sam.replica.passOver(space.log.entries.length);
    sam.replica.noteSnapshot(3);
    const restored = restoredCopy(sam.replica, sam.keyring, space.creator.signing.publicKey);
    expect(restored.setAside).toEqual(sam.replica.setAside);
    expect(restored.setAside.at(-1)?.reason).toBe('missing');
    expect(restored.snapshotCovered).toBe(3);
    expect(restored.snapshot()).toBeNull(); // the hash at `since` is not known after a gap
  });

  it('does not touch the document it is given', () => {
    const { sam, space } = createdAndJoined();
    const doc = new Y.Doc();
    const restored = SealedReplica.restore(
      { doc, keyring: sam.keyring, creator: space.creator.signing.publicKey },
      sam.replica.exportState(),
    );
    expect(restored.since).toBe(space.log.entries.length);
    expect(Y.encodeStateVector(doc)).toEqual(Y.encodeStateVector(new Y.Doc()));
  });

  it('refuses, whole, a state that is cut short, garbled, foreign or of another space', () => {
    const { sam, space } = createdAndJoined();
    const creator = space.creator.signing.publicKey;
    const state = sam.replica.exportState();
    const options = { doc: new Y.Doc(), keyring: sam.keyring, creator };
    const refusal = (bytes: Uint8Array, opts = options) => {
      try {
        SealedReplica.restore(opts, bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(SealedError);
        expect((error as SealedError).reason).toBe(SealedErrorReason.malformed);
        return (error as SealedError).message;
      }
      return null;
    };
    for (let n = 0; n < state.length; n++) {
      expect(refusal(state.subarray(0, n)), `cut at ${n}`).toMatch(/cannot be read/);
    }
    expect(refusal(Uint8Array.from([...state, 0]))).toMatch(/bytes follow/);
    expect(refusal(new TextEncoder().encode('{"v":1}'))).toMatch(/not a replica state/);
    const future = state.slice();
    future[19] = 2; // the version, right after the 19-byte label
    expect(refusal(future)).toMatch(/version 2/);

    const otherKeyring = new SpaceKeyring(`${spaceId}x` as typeof spaceId);
    otherKeyring.add(1, newSpace().spaceKey);
    expect(refusal(state, { ...options, keyring: otherKeyring })).toMatch(/another space/);
    expect(refusal(state, { ...options, creator: sam.identity.signing.publicKey })).toMatch(
      /another creating device/,
    );
  });
});
