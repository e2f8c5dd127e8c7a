import { setDisplayName } from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64Url } from '../bytes.js';
import { sealEpochBox } from '../epochBox.js';
import { newDeviceIdentity, type DeviceIdentity } from '../identity.js';
import type { EpochPayload } from '../payloads.js';
import { newSpaceKey } from '../SpaceKeyring.js';
import { LEAVING_RULES } from './rulesBook.js';
import { snapshotOf, withPhone } from './testing/epochs.js';
import { ALEX, Device, SAM, spaceId } from './testing/sealedSpace.js';

type Step =
  | 'alex-rotates'
  | 'alex-removes-phone'
  | 'sam-removes-phone'
  | 'alex-links-laptop'
  | 'sam-removes-newest-linked'
  | 'alex-gives-kit'
  | 'alex-replaces-kit'
  | 'sam-kit-for-alex'
  | 'sam-returns-outsider-to-alex'
  | 'phone-returns-to-sam'
  | 'stale-statement'
  | 'skips-an-epoch'
  | 'stranger-statement'
  | 'removed-phone-writes'
  | 'box-to-outsider'
  | 'box-left-out'
  | 'box-for-phone-sealed-to-outsider'
  | 'garbled-statement'
  | 'replay-last-keys'
  | 'phone-leaves';

const steps: Step[] = [
  'alex-rotates',
  'alex-removes-phone',
  'sam-removes-phone',
  'alex-links-laptop',
  'sam-removes-newest-linked',
  'alex-gives-kit',
  'alex-replaces-kit',
  'sam-kit-for-alex',
  'sam-returns-outsider-to-alex',
  'phone-returns-to-sam',
  'stale-statement',
  'skips-an-epoch',
  'stranger-statement',
  'removed-phone-writes',
  'box-to-outsider',
  'box-left-out',
  'box-for-phone-sealed-to-outsider',
  'garbled-statement',
  'replay-last-keys',
  'phone-leaves',
];

describe('epoch statements, recovery links, returns and leaves, whatever the log holds', () => {
  it('leave honest replicas agreeing, and never hand a key to a device outside the boxes', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...steps), { maxLength: 12 }), (plan) => {
        const { space, alex, sam, phone } = withPhone();
        // A device of Sam's that stops reading here and later finds Alex's snapshot in its place.
        const lagging = new Device(space, SAM, sam.identity);
        lagging.sync();
        const outsider = newDeviceIdentity();
        const stranger = new Device(space, ALEX);
        const linked: DeviceIdentity[] = [];
        let kit: DeviceIdentity | null = null;
        const box = (to: DeviceIdentity, epoch: number) => ({
          signingKey: to.signing.publicKey,
          box: sealEpochBox(to.agreement.publicKey, { spaceId, epoch, spaceKey: newSpaceKey() }),
        });
        const honestly = (
          d: Device,
          removed: DeviceIdentity[] = [],
          change?: (s: EpochPayload) => EpochPayload,
        ) => {
          d.sync();
          if (!d.replica.standing.isCurrent(toBase64Url(d.identity.signing.publicKey))) return;
          d.newEpoch(removed, change);
        };
        for (const step of plan) {
          switch (step) {
            case 'alex-rotates':
              honestly(alex);
              break;
            case 'alex-removes-phone':
              honestly(alex, [phone.identity]);
              break;
            case 'sam-removes-phone':
              honestly(sam, [phone.identity]);
              break;
            case 'alex-links-laptop': {
              alex.sync();
              const laptop = newDeviceIdentity();
              alex.link(laptop);
              linked.push(laptop);
              break;
            }
            case 'sam-removes-newest-linked': {
              const last = linked.at(-1);
              if (last) honestly(sam, [last]);
              break;
            }
            case 'alex-gives-kit':
              alex.sync();
              kit = newDeviceIdentity();
              alex.recoveryLink(kit);
              break;
            case 'alex-replaces-kit':
              if (kit) honestly(alex, [kit]);
              alex.sync();
              kit = newDeviceIdentity();
              alex.recoveryLink(kit);
              break;
            case 'sam-kit-for-alex':
              sam.recoveryLink(newDeviceIdentity(), ALEX);
              break;
            case 'sam-returns-outsider-to-alex':
              // Set aside while Alex's seat has a device: the outsider never gets a box.
              sam.sync();
              sam.returnLink(outsider, ALEX);
              break;
            case 'phone-returns-to-sam':
              // Set aside: Sam's seat has Sam (or the phone was removed).
              phone.returnLink(newDeviceIdentity(), SAM);
              break;
            case 'stale-statement':
              // Written on what Sam's device last synced, whatever came since.
              sam.newEpoch();
              break;
            case 'skips-an-epoch':
              honestly(alex, [], (s) => ({ ...s, epoch: s.epoch + 1 }));
              break;
            case 'stranger-statement':
              stranger.sync();
              if (stranger.replica.standing.staying().length > 0) stranger.newEpoch();
              break;
            case 'removed-phone-writes':
              phone.sync();
              if (phone.replica.standing.staying().length > 0) phone.newEpoch();
              phone.recoveryLink(newDeviceIdentity());
              phone.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: 'Phone' }));
              break;
            case 'box-to-outsider':
              honestly(alex, [], (s) => ({ ...s, boxes: [...s.boxes, box(outsider, s.epoch)] }));
              break;
            case 'box-left-out':
              honestly(alex, [], (s) => ({ ...s, boxes: s.boxes.slice(1) }));
              break;
            case 'box-for-phone-sealed-to-outsider':
              honestly(alex, [], (s) => ({
                ...s,
                boxes: s.boxes.map((b) =>
                  b.signingKey.every((x, i) => x === phone.identity.signing.publicKey[i])
                    ? { signingKey: b.signingKey, box: box(outsider, s.epoch).box }
                    : b,
                ),
              }));
              break;
            case 'garbled-statement':
              alex.publish(EnvelopeKind.keys, Uint8Array.of(2, 9, 1, 7));
              break;
            case 'phone-leaves':
              // As `leaveWithNewKey` does: the rules that allow a leave first, then the leave.
              phone.sync();
              if (!phone.replica.standing.isCurrent(toBase64Url(phone.identity.signing.publicKey)))
                break;
              if (phone.replica.rulesVersion < LEAVING_RULES) phone.stateRules(LEAVING_RULES);
              phone.sync();
              phone.newEpoch([phone.identity]);
              break;
            case 'replay-last-keys': {
              const at = space.log.entries.findLastIndex((b) => b[1] === EnvelopeKind.keys);
              if (at >= 0) space.log.append(space.log.entries[at]!.slice());
              break;
            }
          }
        }
        alex.edit((d) => setDisplayName(d, { partnerId: ALEX, displayName: 'Alex' }));
        alex.sync();
        sam.sync();
        phone.sync();
        const reader = new Device(space, SAM, sam.identity);
        reader.sync();
        const outside = new Device(space, ALEX, outsider);
        outside.sync();
        // A device of Sam's that starts from Alex's snapshot, holding Sam's keys (a link box's).
        const fromSnapshot = new Device(space, SAM, sam.identity);
        for (const { epoch } of sam.keyring.toStored().epochs) {
          fromSnapshot.keyring.add(epoch, sam.keyring.get(epoch)!.spaceKey);
        }
        if (alex.keyring.latest!.epoch <= fromSnapshot.keyring.latest!.epoch) {
          expect(fromSnapshot.replica.receive(alex.replica.since, snapshotOf(alex, space))).toEqual(
            {
              kind: 'snapshot',
            },
          );
        } else {
          fromSnapshot.sync(); // Sam could not open a box: it reads the log instead
        }
        for (const { epoch } of sam.keyring.toStored().epochs) {
          if (!lagging.keyring.get(epoch))
            lagging.keyring.add(epoch, sam.keyring.get(epoch)!.spaceKey);
        }
        if (alex.keyring.latest!.epoch <= lagging.keyring.latest!.epoch) {
          expect(lagging.replica.receive(alex.replica.since, snapshotOf(alex, space))).toEqual({
            kind: 'snapshot',
          });
        } else {
          lagging.sync();
        }
        const honest = [
          alex.replica,
          sam.replica,
          reader.replica,
          fromSnapshot.replica,
          lagging.replica,
        ];
        for (const replica of honest) {
          expect(replica.devices()).toEqual(alex.replica.devices());
          expect(replica.standing.epoch).toBe(alex.replica.standing.epoch);
          expect(replica.coverage().links).toEqual(alex.replica.coverage().links);
          expect(replica.rulesVersion).toBe(alex.replica.rulesVersion);
        }
        // The same key for every epoch two honest devices hold.
        for (const { epoch } of alex.keyring.toStored().epochs) {
          const theirs = sam.keyring.get(epoch);
          if (theirs) expect(theirs.spaceKey).toEqual(alex.keyring.get(epoch)!.spaceKey);
        }
        // A device outside the boxes never takes a key from the log.
        expect(outside.keyring.toStored().epochs.map((e) => e.epoch)).toEqual([1]);
        const removedAt = alex.replica.standing.removedAt(
          toBase64Url(phone.identity.signing.publicKey),
        );
        if (removedAt !== null) {
          // The phone never holds the key the others use from its removal on. It may hold a
          // key of its own under that number: a removed phone that could not read the statement
          // removing it (its box for the epoch before went to someone else) writes its own
          // statement on its stale view and, alone, takes in its own key, which opens nothing
          // the others write.
          const removedIn = alex.replica.standing.epochs.find((e) => e.seq === removedAt)!;
          for (const { epoch, spaceKey } of alex.keyring.toStored().epochs) {
            if (epoch < removedIn.epoch.epoch) continue;
            const theirs = phone.keyring.get(epoch);
            if (theirs) expect(toBase64Url(theirs.spaceKey)).not.toBe(spaceKey);
          }
        }
      }),
      { numRuns: 25 },
    );
  }, 60_000);
});
