import { listPartners, setDisplayName, type PartnerId } from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { toBase64Url } from '../bytes.js';
import { sha256 } from '../crypto.js';
import { sealEnvelope } from '../envelopes.js';
import { newDeviceIdentity, type DeviceIdentity } from '../identity.js';
import { decodeSnapshotPayload, encodeSnapshotPayload } from '../payloads.js';
import { SealedReplica, SetAsideReason } from './SealedReplica.js';
import { snapshotOf } from './testing/epochs.js';
import { ALEX, createdAndJoined, Device, linkedDevice, SAM } from './testing/sealedSpace.js';

const key = (d: DeviceIdentity | Device) =>
  toBase64Url(('identity' in d ? d.identity : d).signing.publicKey);
const lastAside = (d: Device) => d.replica.setAside.at(-1);

/** Alex's only device removed by Sam in an emergency, everyone synced. */
function alexRemoved() {
  const world = createdAndJoined();
  const { spaceKey } = world.sam.newEpoch([world.alex.identity]);
  world.sam.sync();
  world.alex.sync();
  return { ...world, spaceKey };
}

/** The returned device, holding the keys its link box would hand it, synced and announced. */
function returned(world: ReturnType<typeof alexRemoved>, identity: DeviceIdentity): Device {
  const device = new Device(world.space, ALEX, identity);
  device.keyring.add(2, world.spaceKey);
  device.sync();
  device.announce();
  device.sync();
  return device;
}

describe('returning to a seat, as every replica judges it', () => {
  it('admits a return from the other seat once the seat’s devices were removed, and lists it', () => {
    const world = alexRemoved();
    const { sam } = world;
    const laptop = newDeviceIdentity();
    const seq = sam.returnLink(laptop, ALEX);
    expect(sam.sync()).toEqual([
      {
        kind: 'link',
        partnerId: ALEX,
        device: key(laptop),
        by: key(sam),
        recovery: false,
        returned: true,
      },
    ]);
    expect(sam.replica.linkFor(laptop.signing.publicKey)).toMatchObject({ seq, returned: true });
    // A new key goes to the returned device as to any linked one.
    expect(sam.replica.standing.staying().map((d) => d.signingKey)).toEqual([
      key(sam),
      key(laptop),
    ]);
    const alexAgain = returned(world, laptop);
    alexAgain.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: 'Alex is back' }));
    sam.sync();
    for (const d of [sam, alexAgain]) {
      expect(d.replica.setAside).toEqual([]);
      expect(d.replica.partnerOf(laptop.signing.publicKey)).toBe(ALEX);
      expect(d.replica.devices().at(-1)).toMatchObject({
        signingKey: key(laptop),
        partnerId: ALEX,
        linkedBy: key(sam),
        returned: true,
        recovery: false,
        announced: true,
        removedAt: null,
      });
    }
    expect(listPartners(sam.doc).find((p) => p.id === ALEX)?.displayName).toBe('Alex is back');
    // Back in the seat, it links a further device as any device of the seat does.
    const phone = linkedDevice(alexAgain);
    sam.sync();
    expect(sam.replica.setAside).toEqual([]);
    expect(sam.replica.devices().at(-1)).toMatchObject({
      signingKey: key(phone),
      linkedBy: key(laptop),
      returned: false,
    });
  });

  it('sets aside a return while the seat has a current device, or a linked one not announced', () => {
    const { alex, sam } = createdAndJoined();
    sam.returnLink(newDeviceIdentity(), ALEX);
    sam.sync();
    expect(lastAside(sam)).toMatchObject({
      reason: SetAsideReason.refused,
      detail: expect.stringContaining('still has a device'),
    });
    // Alex removed, but a device Alex linked and that never announced itself is still the seat's.
    const tablet = newDeviceIdentity();
    alex.link(tablet);
    sam.sync();
    sam.newEpoch([alex.identity]);
    sam.returnLink(newDeviceIdentity(), ALEX);
    sam.sync();
    expect(sam.replica.setAside).toHaveLength(2);
    expect(lastAside(sam)?.detail).toContain('still has a device');
    // A first return taken in, a second one for another device is set aside the same way.
    sam.newEpoch([tablet]);
    const laptop = newDeviceIdentity();
    sam.returnLink(laptop, ALEX);
    sam.returnLink(newDeviceIdentity(), ALEX);
    sam.sync();
    expect(sam.replica.setAside).toHaveLength(3);
    expect(lastAside(sam)?.detail).toContain('still has a device');
    expect(sam.replica.linkFor(laptop.signing.publicKey)?.returned).toBe(true);
  });

  it('sets aside a return from the seat itself, from a stranger, from a removed device, and to a seat the space lacks', () => {
    const world = alexRemoved();
    const { space, alex, sam } = world;
    const samsPhone = linkedDevice(sam);
    sam.sync();
    // Sam's own seat still has Sam: a device cannot "return" into its own seat.
    samsPhone.returnLink(newDeviceIdentity(), SAM);
    sam.sync();
    expect(lastAside(sam)).toMatchObject({
      reason: SetAsideReason.refused,
      detail: expect.stringContaining('its own seat'),
    });
    const stranger = new Device(space, SAM);
    stranger.keyring.add(2, world.spaceKey);
    stranger.returnLink(newDeviceIdentity(), ALEX);
    sam.sync();
    expect(lastAside(sam)?.reason).toBe(SetAsideReason.stranger);
    alex.returnLink(newDeviceIdentity(), ALEX);
    sam.sync();
    expect(lastAside(sam)?.reason).toBe(SetAsideReason.removed);
    sam.returnLink(newDeviceIdentity(), 'partnerCCCCCCCCCCCCC' as PartnerId);
    sam.sync();
    expect(lastAside(sam)).toMatchObject({
      reason: SetAsideReason.refused,
      detail: expect.stringContaining('does not have'),
    });
    expect(sam.replica.setAside).toHaveLength(4);
    expect(sam.replica.devices().some((d) => d.returned)).toBe(false);
  });

  it('sets aside a return for a device the space knows: removed, a member, or returned already', () => {
    const world = alexRemoved();
    const { alex, sam } = world;
    const samsPhone = linkedDevice(sam);
    sam.sync();
    sam.returnLink(alex.identity, ALEX); // removed: it never comes back
    sam.returnLink(samsPhone.identity, ALEX); // Sam's own phone
    const laptop = newDeviceIdentity();
    sam.returnLink(laptop, ALEX);
    sam.returnLink(laptop, ALEX); // the same again, at another seq
    sam.sync();
    expect(sam.replica.setAside.map((e) => e.detail)).toEqual([
      expect.stringContaining('already knows'),
      expect.stringContaining('already knows'),
      expect.stringContaining('already knows'),
    ]);
    expect(sam.replica.linkFor(laptop.signing.publicKey)).toMatchObject({ returned: true });
  });

  it('is not blocked by the seat’s recovery kit, which stays a kit', () => {
    const { space, alex, sam } = createdAndJoined();
    const kit = newDeviceIdentity();
    alex.recoveryLink(kit);
    sam.sync();
    const { spaceKey } = sam.newEpoch([alex.identity]);
    const laptop = newDeviceIdentity();
    sam.returnLink(laptop, ALEX);
    sam.sync();
    expect(sam.replica.setAside).toEqual([]);
    // Even a kit that announced itself does not hold the seat; its plain link for the returned
    // device is a second link of another kind, set aside.
    const kitDevice = new Device(space, ALEX, kit);
    kitDevice.keyring.add(2, spaceKey);
    kitDevice.sync();
    kitDevice.announce();
    kitDevice.link(laptop);
    sam.sync();
    expect(sam.replica.setAside.map((e) => e.detail)).toEqual([
      expect.stringContaining('A second link for the same device'),
    ]);
    const alexAgain = new Device(space, ALEX, laptop);
    alexAgain.keyring.add(2, spaceKey);
    alexAgain.sync();
    alexAgain.announce();
    const before = sam.replica.setAside.length;
    sam.sync();
    expect(sam.replica.setAside).toHaveLength(before);
    expect(
      sam.replica.devices().map((d) => [d.signingKey, d.returned, d.recovery, d.announced]),
    ).toEqual([
      [key(alex), false, false, true],
      [key(sam), false, false, true],
      [key(kit), false, true, true],
      [key(laptop), true, false, true],
    ]);
  });

  it('travels in snapshots and the stored state, taken in by the same rules', () => {
    const world = alexRemoved();
    const { space, sam } = world;
    const laptop = newDeviceIdentity();
    sam.returnLink(laptop, ALEX);
    sam.sync();
    const alexAgain = returned(world, laptop);
    sam.sync();
    const snapshot = snapshotOf(sam, space);
    const fresh = new Device(space, SAM, sam.identity);
    fresh.keyring.add(2, world.spaceKey);
    expect(fresh.replica.receive(sam.replica.since, snapshot)).toEqual({ kind: 'snapshot' });
    expect(fresh.replica.devices()).toEqual(sam.replica.devices());
    const options = {
      doc: new Y.Doc(),
      keyring: sam.keyring,
      creator: space.creator.signing.publicKey,
      identity: sam.identity,
    };
    const restored = SealedReplica.restore(options, sam.replica.exportState());
    expect(restored.devices()).toEqual(sam.replica.devices());
    expect(restored.devices().at(-1)).toMatchObject({ signingKey: key(alexAgain), returned: true });
  });

  it('sets aside a snapshot listing a return its rules set aside', () => {
    const { space, sam } = createdAndJoined();
    sam.returnLink(newDeviceIdentity(), ALEX); // set aside: Alex still has a device
    sam.sync();
    const honest = decodeSnapshotPayload(sam.replica.snapshot()!.payload);
    const forgedList = [{ seq: sam.replica.since, envelope: space.log.entries.at(-1)! }];
    const bytes = sealEnvelope({
      identity: sam.identity,
      keyring: sam.keyring,
      kind: EnvelopeKind.snapshot,
      stream: sam.doc.clientID,
      counter: 0,
      covers: { seq: sam.replica.since, hash: sha256(space.log.entries.at(-1)!) },
      payload: encodeSnapshotPayload({ ...honest, links: forgedList }),
    }).bytes;
    const reader = new Device(space, SAM, sam.identity);
    expect(reader.replica.receive(sam.replica.since, bytes)).toMatchObject({
      entry: {
        reason: SetAsideReason.badSnapshot,
        detail: expect.stringMatching(/lists a link wrongly: A return to a seat that still has/),
      },
    });
    expect(reader.replica.members.size).toBe(0);
  });
});
