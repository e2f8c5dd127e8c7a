import { addPartner, initSpace, listPartners, setDisplayName } from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { toBase64Url } from '../bytes.js';
import { sealEnvelope } from '../envelopes.js';
import { newDeviceIdentity, type DeviceIdentity } from '../identity.js';
import { encodeLinkPayload, encodeMemberPayload, encodeSnapshotPayload } from '../payloads.js';
import { SetAsideReason } from './SealedReplica.js';
import {
  ALEX,
  createdAndJoined,
  Device,
  linkedDevice,
  newSpace,
  SAM,
  sealedSnapshot,
  T0,
  type Space,
} from './testing/sealedSpace.js';

const key = (d: DeviceIdentity | Device) =>
  toBase64Url(('identity' in d ? d.identity : d).signing.publicKey);
const asides = (d: Device) => d.replica.setAside.map((e) => [e.reason, e.detail]);

/** Alex creates the space; Sam's device exists but has not joined. */
function createdOnly(): { space: Space; alex: Device; sam: Device } {
  const space = newSpace();
  const alex = new Device(space, ALEX, space.creator);
  alex.announce();
  alex.edit((doc) => {
    initSpace(doc, { name: 'Our space', createdAt: T0 });
    addPartner(doc, { id: ALEX, displayName: 'Alex', joinedAt: T0, color: '#aa3355' });
  });
  return { space, alex, sam: new Device(space, SAM) };
}

/** A snapshot `from` writes of what its replica holds, covering seq `coversSeq`. */
function snapshotOf(from: Device, space: Space, payload = from.replica.snapshot()!.payload) {
  return sealedSnapshot(from, space, from.replica.since, payload);
}

/** What `devices()` says of an announced device brought by a plain link, never removed. */
const inTheSpace = {
  announced: true,
  recovery: false,
  returned: false,
  removedAt: null,
  removedBy: null,
};

describe('linking a device, as every replica judges it', () => {
  it('admits a device its seat linked, and lists it with the device that linked it', () => {
    const { space, alex, sam } = createdAndJoined();
    const phone = linkedDevice(alex);
    const linkSeq = space.log.entries.length - 1;
    phone.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: 'Alex on the phone' }));
    const receipts = sam.sync();
    alex.sync();
    expect(receipts.slice(0, 2)).toEqual([
      {
        kind: 'link',
        partnerId: ALEX,
        device: key(phone),
        by: key(alex),
        recovery: false,
        returned: false,
      },
      { kind: 'member', partnerId: ALEX, device: key(phone) },
    ]);
    for (const d of [alex, sam, phone]) {
      expect(d.replica.setAside).toEqual([]);
      expect(d.replica.devices()).toEqual([
        {
          signingKey: key(alex),
          partnerId: ALEX,
          agreementKey: alex.identity.agreement.publicKey,
          linkedBy: null,
          seq: 1,
          ...inTheSpace,
        },
        {
          signingKey: key(sam),
          partnerId: SAM,
          agreementKey: sam.identity.agreement.publicKey,
          linkedBy: null,
          seq: 3,
          ...inTheSpace,
        },
        {
          signingKey: key(phone),
          partnerId: ALEX,
          agreementKey: phone.identity.agreement.publicKey,
          linkedBy: key(alex),
          seq: linkSeq + 1,
          ...inTheSpace,
        },
      ]);
      expect(d.replica.linkFor(phone.identity.signing.publicKey)?.seq).toBe(linkSeq);
      expect(listPartners(d.doc)[0]?.displayName).toBe('Alex on the phone');
    }
  });

  it('lets a linked device link another, and each partner link only into their own seat', () => {
    const { alex, sam } = createdAndJoined();
    const phone = linkedDevice(alex);
    const tablet = linkedDevice(phone);
    const samsLaptop = linkedDevice(sam);
    sam.link(newDeviceIdentity(), ALEX);
    alex.sync();
    expect(alex.replica.devices().map((d) => [d.signingKey, d.partnerId, d.linkedBy])).toEqual([
      [key(alex), ALEX, null],
      [key(sam), SAM, null],
      [key(phone), ALEX, key(alex)],
      [key(tablet), ALEX, key(phone)],
      [key(samsLaptop), SAM, key(sam)],
    ]);
    expect(asides(alex)).toEqual([
      [SetAsideReason.refused, 'A device tried to link a device to another partner’s seat.'],
    ]);
  });

  it('sets aside a second device without a link, and admits it once its seat links it', () => {
    const { alex, sam } = createdAndJoined();
    const laptop = new Device(alex.space, ALEX);
    laptop.announce();
    alex.link(laptop.identity);
    laptop.announce();
    sam.sync();
    expect(asides(sam)).toEqual([
      [SetAsideReason.stranger, 'A second device for a seat, without a link from it.'],
    ]);
    expect(sam.replica.partnerOf(laptop.identity.signing.publicKey)).toBe(ALEX);
  });

  it('refuses links from strangers, for the other seat’s devices, and a member statement that does not match its link', () => {
    const { alex, sam } = createdAndJoined();
    const stranger = new Device(alex.space, ALEX);
    stranger.link(newDeviceIdentity());
    alex.link(sam.identity);
    alex.link(alex.identity);
    const linked = newDeviceIdentity();
    alex.link(linked);
    alex.link({ ...linked, agreement: newDeviceIdentity().agreement });
    const other = new Device(alex.space, ALEX, {
      ...linked,
      agreement: newDeviceIdentity().agreement,
    });
    other.announce();
    const seatHopper = new Device(alex.space, SAM, linked);
    seatHopper.announce();
    sam.sync();
    expect(asides(sam)).toEqual([
      [SetAsideReason.stranger, 'A link from a device that is not a member.'],
      [SetAsideReason.refused, 'A link for a device of the other partner.'],
      [SetAsideReason.refused, 'A device tried to link itself.'],
      [SetAsideReason.refused, 'A second link for the same device, with other keys.'],
      [
        SetAsideReason.refused,
        'A device’s member statement does not match the link that brought it in.',
      ],
      [
        SetAsideReason.refused,
        'A device’s member statement does not match the link that brought it in.',
      ],
    ]);
    expect(sam.replica.members.size).toBe(2);
  });

  it('keeps aside a statement about keys of a kind it does not know', () => {
    const { alex, sam } = createdAndJoined();
    const payload = encodeLinkPayload({
      partnerId: ALEX,
      signingKey: newDeviceIdentity().signing.publicKey,
      agreementKey: newDeviceIdentity().agreement.publicKey,
    });
    payload[0] = 9;
    alex.publish(EnvelopeKind.keys, payload);
    alex.publish(EnvelopeKind.keys, Uint8Array.of(1, 2, 3));
    sam.sync();
    expect(sam.replica.setAside.map((e) => e.reason)).toEqual([
      SetAsideReason.unsupported,
      SetAsideReason.forged,
    ]);
  });

  it('brings a fresh device up from a snapshot that carries the links, checked as in the log', () => {
    const { space, alex, sam } = createdAndJoined();
    const phone = linkedDevice(alex);
    alex.sync();
    const snapshot = snapshotOf(alex, space);
    const fresh = new Device(space, SAM, sam.identity);
    expect(fresh.replica.receive(alex.replica.since, snapshot)).toEqual({ kind: 'snapshot' });
    expect(fresh.replica.devices()).toEqual(alex.replica.devices());
    expect(fresh.replica.linkFor(phone.identity.signing.publicKey)?.by).toBe(key(alex));
    // It chains on: the phone's next statements are taken as the phone's.
    phone.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: 'Phone' }));
    fresh.sync();
    expect(fresh.replica.setAside).toEqual([]);
    expect(listPartners(fresh.doc)[0]?.displayName).toBe('Phone');
  });

  it('refuses a snapshot that lists a second device without a link, or with a link its seat did not sign', () => {
    const { space, alex, sam } = createdAndJoined();
    const phone = linkedDevice(alex);
    sam.sync();
    const honest = sam.replica.coverage();
    const state = Y.encodeStateAsUpdate(sam.doc);
    // Sam's device makes up the link for Alex's seat itself: signed by Sam, not by Alex.
    const samsLink = sealEnvelope({
      identity: sam.identity,
      keyring: sam.keyring,
      kind: EnvelopeKind.keys,
      stream: 7,
      counter: 1,
      payload: encodeLinkPayload({
        partnerId: ALEX,
        signingKey: phone.identity.signing.publicKey,
        agreementKey: phone.identity.agreement.publicKey,
      }),
    }).bytes;
    const garbled = honest.links[0]!.envelope.slice();
    garbled[garbled.length - 3]! ^= 1;
    const forgeries = [
      { ...honest, links: [] },
      { ...honest, links: [{ seq: honest.links[0]!.seq, envelope: samsLink }] },
      { ...honest, links: [{ seq: honest.links[0]!.seq, envelope: garbled }] },
      {
        ...honest,
        links: [{ seq: space.log.entries.length + 1, envelope: honest.links[0]!.envelope }],
      },
    ];
    for (const forged of forgeries) {
      const fresh = new Device(space, ALEX, alex.identity);
      const payload = encodeSnapshotPayload({ yjsState: state, ...forged });
      const receipt = fresh.replica.receive(sam.replica.since, snapshotOf(sam, space, payload));
      expect(receipt).toMatchObject({
        kind: 'set-aside',
        entry: { reason: SetAsideReason.badSnapshot },
      });
      expect(fresh.replica.members.size).toBe(0);
    }
  });

  it('never admits a device into a seat without a link signed by a device of that seat', () => {
    type Step =
      | 'alex-links'
      | 'phone-links'
      | 'sam-links-own'
      | 'linked-announces'
      | 'sam-links-alex'
      | 'stranger-links'
      | 'stranger-announces'
      | 'announce-unlinked'
      | 'other-keys'
      | 'garble-link'
      | 'replay-link'
      | 'sam-changes-seat';
    const step = fc.constantFrom<Step>(
      'alex-links',
      'phone-links',
      'sam-links-own',
      'linked-announces',
      'sam-links-alex',
      'stranger-links',
      'stranger-announces',
      'announce-unlinked',
      'other-keys',
      'garble-link',
      'replay-link',
      'sam-changes-seat',
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(step, { maxLength: 14 }), (joined, steps) => {
        // Before Sam joins, a device claiming Alex's seat is not also refused as a third partner.
        const { space, alex, sam } = joined ? createdAndJoined() : createdOnly();
        // Devices a member of the seat honestly linked, by seat: the only ones that may come in.
        const honest = new Map([
          [ALEX, new Set<string>()],
          [SAM, new Set<string>()],
        ]);
        const waiting: Device[] = [];
        const linkedAlex: Device[] = [];
        const linkBy = (by: Device, seat: typeof ALEX | typeof SAM) => {
          const identity = newDeviceIdentity();
          by.link(identity);
          honest.get(seat)!.add(toBase64Url(identity.signing.publicKey));
          waiting.push(new Device(space, seat, identity));
        };
        for (const s of steps) {
          switch (s) {
            case 'alex-links':
              linkBy(alex, ALEX);
              break;
            case 'phone-links': {
              const phone = linkedAlex[0];
              if (phone) linkBy(phone, ALEX);
              break;
            }
            case 'sam-links-own':
              linkBy(sam, SAM);
              break;
            case 'linked-announces': {
              const next = waiting.shift();
              if (next) {
                next.announce();
                if (next.partnerId === ALEX) linkedAlex.push(next);
              }
              break;
            }
            case 'sam-links-alex': {
              const identity = newDeviceIdentity();
              sam.link(identity, ALEX);
              new Device(space, ALEX, identity).announce();
              break;
            }
            case 'stranger-links': {
              const stranger = new Device(space, ALEX);
              const identity = newDeviceIdentity();
              stranger.link(identity);
              new Device(space, ALEX, identity).announce();
              break;
            }
            case 'stranger-announces':
              new Device(space, SAM).announce();
              break;
            case 'announce-unlinked':
              new Device(space, ALEX).announce();
              break;
            case 'other-keys': {
              // A device that was linked, announcing with an agreement key the link did not name.
              const next = waiting[0];
              if (next) {
                next.publish(
                  EnvelopeKind.member,
                  encodeMemberPayload({
                    partnerId: next.partnerId,
                    agreementKey: newDeviceIdentity().agreement.publicKey,
                  }),
                );
              }
              break;
            }
            case 'garble-link': {
              const at = space.log.entries.findLastIndex((b) => b[1] === EnvelopeKind.keys);
              if (at >= 0) {
                const copy = space.log.entries[at]!.slice();
                copy[copy.length - 70]! ^= 0x20;
                space.log.append(copy);
              }
              break;
            }
            case 'replay-link': {
              const at = space.log.entries.findLastIndex((b) => b[1] === EnvelopeKind.keys);
              if (at >= 0) space.log.append(space.log.entries[at]!.slice());
              break;
            }
            case 'sam-changes-seat':
              sam.publish(
                EnvelopeKind.member,
                encodeMemberPayload({
                  partnerId: ALEX,
                  agreementKey: sam.identity.agreement.publicKey,
                }),
              );
              break;
          }
        }
        // Something honest last, so Alex's device knows the hash its snapshot covers.
        alex.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: 'Alex' }));
        const reader = new Device(space, SAM, sam.identity);
        alex.sync();
        sam.sync();
        reader.sync();
        const fromSnapshot = new Device(space, SAM, sam.identity);
        fromSnapshot.replica.receive(alex.replica.since, snapshotOf(alex, space));
        for (const replica of [alex.replica, sam.replica, reader.replica, fromSnapshot.replica]) {
          const devices = replica.devices();
          expect(devices[0]?.signingKey).toBe(key(alex));
          if (joined) expect(devices.find((d) => d.partnerId === SAM)?.signingKey).toBe(key(sam));
          const seen = new Set<string>();
          for (const d of devices) {
            const seat = d.partnerId as typeof ALEX | typeof SAM;
            if (!seen.has(seat)) {
              // A seat's first device is the only one that comes in without a link.
              seen.add(seat);
              expect(d.linkedBy).toBeNull();
              continue;
            }
            expect(honest.get(seat)?.has(d.signingKey)).toBe(true);
            const by = devices.find((m) => m.signingKey === d.linkedBy);
            expect(by?.partnerId).toBe(seat);
          }
        }
        expect(sam.replica.devices()).toEqual(alex.replica.devices());
        expect(fromSnapshot.replica.devices().map((d) => [d.signingKey, d.linkedBy])).toEqual(
          alex.replica.devices().map((d) => [d.signingKey, d.linkedBy]),
        );
      }),
      { numRuns: 30 },
    );
  }, 30_000);
});
