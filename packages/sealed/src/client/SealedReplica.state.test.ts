import { roots, setDisplayName } from '@mend/model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SealedError, SealedErrorReason } from '../errors.js';
import * as encoding from 'lib0/encoding';
import { encodeMemberPayload } from '../payloads.js';
import { SpaceKeyring } from '../SpaceKeyring.js';
import { decodeReplicaState, encodeReplicaState } from './replicaState.js';
import { SealedReplica, type Receipt } from './SealedReplica.js';
import {
  ALEX,
  createdAndJoined,
  linkedDevice,
  newSpace,
  SAM,
  spaceId,
  type Space,
} from './testing/sealedSpace.js';

const json = (doc: Y.Doc) => (roots(doc), doc.toJSON());

type Step = 'alex' | 'sam' | 'hostile' | 'garble' | 'drop' | 'link';

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
    case 'link': {
      // Alex links another device, which announces itself and writes Alex's name.
      const phone = linkedDevice(alex);
      phone.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: `P${i}` }));
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
    const steps = fc.array(
      fc.constantFrom<Step>('alex', 'sam', 'hostile', 'garble', 'drop', 'link'),
      { maxLength: 8 },
    );
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
        expect(restored.devices()).toEqual(sam.replica.devices());
        expect(restored.snapshot()).toEqual(sam.replica.snapshot());
        // Sam's own edits went into Sam's document, not the copy (a provider writes them).
        if (!after.includes('sam')) expect(json(restored.doc)).toEqual(json(sam.doc));
      }),
      { numRuns: 25 },
    );
  }, 30_000);

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
    future[19] = 4; // the version, right after the 19-byte label
    expect(refusal(future)).toMatch(/version 4/);

    const otherKeyring = new SpaceKeyring(`${spaceId}x` as typeof spaceId);
    otherKeyring.add(1, newSpace().spaceKey);
    expect(refusal(state, { ...options, keyring: otherKeyring })).toMatch(/another space/);
    expect(refusal(state, { ...options, creator: sam.identity.signing.publicKey })).toMatch(
      /another creating device/,
    );
  });

  it('reads a state stored before links, its member seqs unknown', () => {
    const { sam, space } = createdAndJoined();
    const creator = space.creator.signing.publicKey;
    const now = decodeReplicaState(sam.replica.exportState());
    const e = encoding.createEncoder();
    encoding.writeVarString(e, 'mend/replica-state');
    encoding.writeVarUint(e, 1);
    encoding.writeVarString(e, now.spaceId);
    encoding.writeUint8Array(e, now.creator);
    encoding.writeVarUint8Array(e, now.log);
    encoding.writeVarString(e, JSON.stringify(now.chains));
    encoding.writeVarUint(e, now.members.length);
    for (const m of now.members) {
      encoding.writeUint8Array(e, m.device);
      encoding.writeVarUint8Array(e, encodeMemberPayload(m));
    }
    encoding.writeVarUint(e, 0); // set aside
    encoding.writeUint8(e, 1);
    encoding.writeVarUint(e, now.tip!.seq);
    encoding.writeUint8Array(e, now.tip!.hash);
    encoding.writeVarUint(e, 0);
    const restored = SealedReplica.restore(
      { doc: new Y.Doc(), keyring: sam.keyring, creator },
      encoding.toUint8Array(e),
    );
    expect(restored.since).toBe(sam.replica.since);
    expect(restored.members).toEqual(sam.replica.members);
    expect(restored.devices().map((d) => [d.partnerId, d.seq, d.linkedBy])).toEqual([
      [ALEX, null, null],
      [SAM, null, null],
    ]);
  });

  it('refuses a stored link that does not open as one', () => {
    const { alex, space } = createdAndJoined();
    linkedDevice(alex);
    alex.sync();
    expect(alex.replica.devices().map((d) => d.linkedBy)).toEqual([
      null,
      null,
      alex.replica.devices()[0]!.signingKey,
    ]);
    const state = decodeReplicaState(alex.replica.exportState());
    expect(state.links).toHaveLength(1);
    const changed = state.links[0]!.envelope.slice();
    changed[changed.length - 1]! ^= 1;
    const bytes = encodeReplicaState({
      ...state,
      links: [{ seq: state.links[0]!.seq, envelope: changed }],
    });
    expect(() =>
      SealedReplica.restore(
        { doc: new Y.Doc(), keyring: alex.keyring, creator: space.creator.signing.publicKey },
        bytes,
      ),
    ).toThrow(/holds a statement about keys that cannot be read/);
  });
});
