import { listPartners, setDisplayName } from '@mend/model';
import { describe, expect, it } from 'vitest';
import { toBase64Url } from '../bytes.js';
import { openEpochBox, sealEpochBox } from '../epochBox.js';
import { newDeviceIdentity } from '../identity.js';
import { newSpaceKey, SpaceKeyring } from '../SpaceKeyring.js';
import { SetAsideReason, type CandidateKey } from './SealedReplica.js';
import { snapshotOf } from './testing/epochs.js';
import {
  ALEX,
  createdAndJoined,
  Device,
  linkedDevice,
  SAM,
  spaceId,
} from './testing/sealedSpace.js';

/*
 * Catching up across a key change (docs/protocol.md): a device that was away while the space
 * moved to a new epoch finds its backlog starting with a snapshot sealed under that epoch. A
 * candidate key (from the server's epoch boxes) opens it only when the epoch statement the
 * snapshot carries gives this device the same key through its own box.
 */

/** Alex's phone removed, Alex writes under epoch 2, and snapshots; Sam's device was away. */
function removedWhileAway() {
  const world = createdAndJoined();
  const { space, alex, sam } = world;
  const phone = linkedDevice(alex);
  alex.sync();
  alex.newEpoch([phone.identity]);
  alex.sync();
  alex.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: 'Alex, epoch 2' }));
  alex.sync();
  const coversSeq = alex.replica.since;
  const away = new Device(space, SAM, sam.identity);
  const key2 = alex.keyring.get(2)!.spaceKey;
  return { ...world, phone, coversSeq, away, key2, snapshot: snapshotOf(alex, space) };
}

describe('a snapshot under an epoch this device does not hold', () => {
  it('is held back as an unopened key without keys offered: recorded once, `since` stays before it', () => {
    const { away, snapshot, coversSeq } = removedWhileAway();
    expect(away.replica.keyWanted(snapshot)).toBe(2);
    const first = away.replica.receive(coversSeq, snapshot);
    const again = away.replica.receive(coversSeq, snapshot);
    expect(first).toMatchObject({ kind: 'set-aside', entry: { reason: 'unopened-key' } });
    expect(again).toEqual(first);
    expect(away.replica.setAside).toHaveLength(1);
    expect(away.replica.since).toBe(0);
    expect(away.keyring.get(2)).toBeUndefined();
  });

  it('takes it with the right candidate, the key coming from the statement it carries, and reads on', () => {
    const { space, alex, away, snapshot, coversSeq, key2 } = removedWhileAway();
    away.replica.receive(coversSeq, snapshot);
    const candidates: CandidateKey[] = [
      { epoch: 2, spaceKey: newSpaceKey() }, // another writer's box for epoch 2, say
      { epoch: 2, spaceKey: key2 },
    ];
    expect(away.replica.receive(coversSeq, snapshot, candidates)).toEqual({ kind: 'snapshot' });
    expect(away.replica.since).toBe(coversSeq);
    expect(away.replica.setAside).toEqual([]);
    expect(away.keyring.get(2)?.spaceKey).toEqual(key2);
    expect(away.replica.standing.epoch).toBe(2);
    expect(away.replica.devices()).toEqual(alex.replica.devices());
    expect(listPartners(away.doc)[0]?.displayName).toBe('Alex, epoch 2');
    expect(away.replica.keyWanted(snapshot)).toBeNull();
    // What Alex writes next, under epoch 2, reads there too.
    alex.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: 'Alex, later' }));
    const receipts: unknown[] = [];
    for (let seq = away.replica.since + 1; seq <= space.log.entries.length; seq++) {
      receipts.push(away.replica.receive(seq, space.log.entries[seq - 1]!));
    }
    expect(receipts).toEqual([{ kind: 'applied' }]);
    expect(listPartners(away.doc)[0]?.displayName).toBe('Alex, later');
  });

  it('sets it aside with a wrong candidate, or one for another epoch, and keeps neither key', () => {
    const { away, snapshot, coversSeq, key2 } = removedWhileAway();
    for (const candidates of [
      [{ epoch: 2, spaceKey: newSpaceKey() }],
      [{ epoch: 3, spaceKey: key2 }],
      [{ epoch: 1, spaceKey: key2 }],
    ]) {
      const receipt = away.replica.receive(coversSeq, snapshot, candidates);
      expect(receipt).toMatchObject({ kind: 'set-aside', entry: { reason: 'unopened-key' } });
      expect(away.replica.since).toBe(0);
    }
    expect(away.replica.setAside.map((e) => e.detail)).toEqual([
      expect.stringMatching(/none of the keys offered for it opens/),
    ]);
    expect(away.keyring.get(2)).toBeUndefined();
    expect(away.keyring.get(3)).toBeUndefined();
    expect(away.replica.standing.epoch).toBe(1);
  });

  it('sets aside a box a stranger sealed to this device: anyone can, and its key opens nothing', () => {
    const { sam, away, snapshot, coversSeq } = removedWhileAway();
    const box = sealEpochBox(sam.identity.agreement.publicKey, {
      spaceId,
      epoch: 2,
      spaceKey: newSpaceKey(),
    });
    const opened = openEpochBox(sam.identity.agreement, box, { spaceId, epoch: 2 });
    expect(opened).toBeInstanceOf(Uint8Array);
    const receipt = away.replica.receive(coversSeq, snapshot, [
      { epoch: 2, spaceKey: opened as Uint8Array },
    ]);
    expect(receipt).toMatchObject({ kind: 'set-aside', entry: { reason: 'unopened-key' } });
    expect(away.keyring.get(2)).toBeUndefined();
  });

  it('sets aside a snapshot that opens with the candidate when the statement it carries gave another key', () => {
    // A member seals the snapshot under a key of its own and leaves this device a box for it:
    // it decrypts, but the signed statement inside gave this device another key.
    const { space, alex, away, coversSeq, key2 } = removedWhileAway();
    const other = newSpaceKey();
    const keyring = new SpaceKeyring(spaceId);
    keyring.add(1, space.spaceKey);
    keyring.add(2, other);
    const swapped = snapshotOf(alex, space, keyring, 2);
    const receipt = away.replica.receive(coversSeq, swapped, [{ epoch: 2, spaceKey: other }]);
    expect(receipt).toMatchObject({
      kind: 'set-aside',
      entry: {
        reason: SetAsideReason.unopenedKey,
        detail: expect.stringMatching(/another key than the statement it carries gave/),
      },
    });
    expect(away.replica.since).toBe(0);
    expect(away.keyring.get(2)).toBeUndefined();
    expect(away.replica.standing.epoch).toBe(1);
    // The honest snapshot with the key the statement gave is taken afterwards.
    const honest = snapshotOf(alex, space);
    expect(away.replica.receive(coversSeq, honest, [{ epoch: 2, spaceKey: key2 }])).toEqual({
      kind: 'snapshot',
    });
    expect(away.replica.setAside).toEqual([]);
  });

  it('sets aside a candidate for an epoch whose statement gave this device no key', () => {
    // Sam's box in the statement names another epoch: the candidate cannot be confirmed.
    const { space, alex, sam } = createdAndJoined();
    const mine = toBase64Url(sam.identity.signing.publicKey);
    const elsewhere = sealEpochBox(sam.identity.agreement.publicKey, {
      spaceId,
      epoch: 3,
      spaceKey: newSpaceKey(),
    });
    alex.newEpoch([], (s) => ({
      ...s,
      boxes: s.boxes.map((b) =>
        toBase64Url(b.signingKey) === mine ? { signingKey: b.signingKey, box: elsewhere } : b,
      ),
    }));
    alex.sync();
    const away = new Device(space, SAM, sam.identity);
    const key2 = alex.keyring.get(2)!.spaceKey;
    const receipt = away.replica.receive(alex.replica.since, snapshotOf(alex, space), [
      { epoch: 2, spaceKey: key2 },
    ]);
    expect(receipt).toMatchObject({
      kind: 'set-aside',
      entry: { detail: expect.stringMatching(/gave this device no key it can open/) },
    });
    expect(away.keyring.get(2)).toBeUndefined();
  });

  it('takes several epochs from one snapshot with the newest key alone, each statement sealed under the one before', () => {
    const { space, alex, sam, phone } = removedWhileAway();
    alex.newEpoch();
    alex.sync();
    alex.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: 'Alex, epoch 3' }));
    alex.sync();
    const away = new Device(space, SAM, sam.identity);
    const snapshot = snapshotOf(alex, space);
    expect(away.replica.keyWanted(snapshot)).toBe(3);
    const key3 = alex.keyring.get(3)!.spaceKey;
    expect(
      away.replica.receive(alex.replica.since, snapshot, [{ epoch: 2, spaceKey: key3 }]),
    ).toMatchObject({
      kind: 'set-aside',
    });
    expect(
      away.replica.receive(alex.replica.since, snapshot, [{ epoch: 3, spaceKey: key3 }]),
    ).toEqual({ kind: 'snapshot' });
    expect(away.keyring.get(2)?.spaceKey).toEqual(alex.keyring.get(2)?.spaceKey);
    expect(away.keyring.get(3)?.spaceKey).toEqual(key3);
    expect(away.replica.standing.epoch).toBe(3);
    expect(away.replica.standing.removedAt(toBase64Url(phone.identity.signing.publicKey))).not.toBe(
      null,
    );
    expect(listPartners(away.doc)[0]?.displayName).toBe('Alex, epoch 3');
  });

  it('offers no candidate to a snapshot it holds the key for, or one it already covers', () => {
    const { alex, space, sam } = createdAndJoined();
    alex.newEpoch();
    alex.sync();
    sam.sync();
    const snapshot = snapshotOf(alex, space);
    expect(sam.replica.keyWanted(snapshot)).toBeNull();
    const fresh = new Device(space, SAM, newDeviceIdentity());
    fresh.keyring.add(2, alex.keyring.get(2)!.spaceKey);
    expect(fresh.replica.keyWanted(snapshot)).toBeNull();
    expect(sam.replica.keyWanted(space.log.entries[0]!)).toBeNull();
  });
});
