import {
  checkIn,
  listCheckins,
  listPartners,
  proposeAgreement,
  roots,
  setDisplayName,
} from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { newDeviceIdentity } from '../identity.js';
import { SetAsideReason } from './SealedReplica.js';
import {
  ALEX,
  createdAndJoined,
  Device,
  newSpace,
  SAM,
  snapshotOf,
  T0,
} from './testing/sealedSpace.js';

/** The whole document as plain data (every root typed first, or toJSON leaves it out). */
const json = (doc: Y.Doc) => (roots(doc), doc.toJSON());

const asideReasons = (d: Device) => d.replica.setAside.map((e) => e.reason);

describe('a sealed replica', () => {
  it('lets two partners converge through the log, each device taking in only what passes', () => {
    const { alex, sam } = createdAndJoined();
    alex.edit((doc) =>
      checkIn(doc, { partnerId: ALEX, date: '2026-11-01', safety: 6, state: 'calm', at: T0 + 5 }),
    );
    sam.edit((doc) =>
      proposeAgreement(doc, { title: 'Honesty', body: 'I tell the truth.', by: SAM, at: T0 + 6 }),
    );
    alex.sync();
    sam.sync();
    expect(json(alex.doc)).toEqual(json(sam.doc));
    expect(listPartners(alex.doc).map((p) => p.displayName)).toEqual(['Alex', 'Sam']);
    expect(listCheckins(sam.doc)).toHaveLength(1);
    expect(alex.replica.partnerOf(sam.identity.signing.publicKey)).toBe(SAM);
    expect(alex.replica.setAside).toEqual([]);
    expect(sam.replica.setAside).toEqual([]);
    expect(alex.replica.since).toBe(sam.replica.since);
  });

  it('sets aside an envelope changed in storage, and what its stream wrote after it, without touching the document', () => {
    const { space, alex, sam } = createdAndJoined();
    const before = json(alex.doc);
    const seq = sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'Samuel' }));
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'Sammy' }));
    const stored = space.log.entries[seq - 1]!;
    stored[stored.length - 80]! ^= 1; // inside the ciphertext
    alex.sync();
    expect(asideReasons(alex)).toEqual([SetAsideReason.forged, SetAsideReason.outOfOrder]);
    expect(json(alex.doc)).toEqual(before);
    expect(alex.replica.since).toBe(space.log.entries.length);
  });

  it('detects a replay, a reorder and a drop by the server', () => {
    const { space, alex, sam } = createdAndJoined();
    const first = sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S1' }));
    const second = sam.sealEdit((doc) =>
      setDisplayName(doc, { partnerId: SAM, displayName: 'S2' }),
    );
    const third = sam.sealEdit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S3' }));
    // Replay: the first stored again; drop: the second never stored, the third is.
    space.log.append(space.log.entries[first - 1]!.slice());
    space.log.append(third);
    alex.sync();
    expect(alex.replica.setAside.map((e) => [e.reason, e.detail])).toEqual([
      [SetAsideReason.outOfOrder, expect.stringMatching(/again/)],
      [SetAsideReason.outOfOrder, expect.stringMatching(/came before envelope/)],
    ]);
    // Reordered: the second arrives after the third was refused; it continues the chain.
    space.log.append(second);
    alex.sync();
    expect(alex.replica.setAside).toHaveLength(2);
    expect(listPartners(alex.doc).find((p) => p.id === SAM)?.displayName).toBe('S2');
  });

  it('passes over positions the server left out, on record, and still refuses a jump on its own', () => {
    const { space, alex, sam } = createdAndJoined();
    const dropped = sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S1' }));
    const next = sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S2' }));
    const bytes = space.log.entries[next - 1]!;
    expect(alex.replica.receive(next, bytes)).toMatchObject({ kind: 'set-aside' });
    expect(alex.replica.since).toBe(dropped - 1);
    expect(alex.replica.setAside).toEqual([]);

    expect(alex.replica.passOver(dropped)).toEqual({
      seq: dropped,
      reason: SetAsideReason.missing,
      detail: expect.stringMatching(new RegExp(`skipped position ${dropped} of`)),
      author: null,
    });
    expect(alex.replica.receive(next, bytes)).toMatchObject({
      kind: 'set-aside',
      entry: { reason: SetAsideReason.outOfOrder, detail: expect.stringMatching(/came before/) },
    });
    expect(asideReasons(alex)).toEqual([SetAsideReason.missing, SetAsideReason.outOfOrder]);
    expect(listPartners(alex.doc)[1]?.displayName).toBe('Sam');
    expect(() => alex.replica.passOver(next)).toThrow(RangeError);
  });

  it('refuses a partner’s update that writes what belongs to the other partner', () => {
    const { alex, sam } = createdAndJoined();
    sam.edit((doc) =>
      checkIn(doc, { partnerId: ALEX, date: '2026-11-02', safety: 0, state: 'freeze', at: T0 + 9 }),
    );
    sam.edit((doc) => setDisplayName(doc, { partnerId: ALEX, displayName: 'Liar' }));
    alex.sync();
    expect(asideReasons(alex)).toEqual([SetAsideReason.refused, SetAsideReason.refused]);
    expect(listCheckins(alex.doc)).toEqual([]);
    expect(listPartners(alex.doc)[0]?.displayName).toBe('Alex');
  });

  it('refuses an update written under another device’s client id', () => {
    const { alex, sam } = createdAndJoined();
    const forger = new Y.Doc();
    forger.clientID = alex.doc.clientID;
    Y.applyUpdate(forger, Y.encodeStateAsUpdate(sam.doc));
    const before = Y.encodeStateVector(forger);
    setDisplayName(forger, { partnerId: SAM, displayName: 'Shadow' });
    sam.publish(EnvelopeKind.update, Y.encodeStateAsUpdate(forger, before));
    alex.sync();
    expect(asideReasons(alex)).toEqual([SetAsideReason.refused]);
    expect(listPartners(alex.doc)[1]?.displayName).toBe('Sam');
  });

  it('admits the creator first, one device per seat and two seats, and nobody else', () => {
    const { space, alex } = createdAndJoined();
    const third = new Device(space, 'partnerCCCCCCCCCCCCC' as typeof ALEX);
    third.announce();
    const secondAlex = new Device(space, ALEX);
    secondAlex.announce();
    alex.sync();
    expect(alex.replica.setAside.map((e) => e.detail)).toEqual([
      'A third partner.',
      'A second device for a seat, without a link from it.',
    ]);
    expect(alex.replica.members.size).toBe(2);

    const other = newSpace();
    const impostor = new Device(other, ALEX, newDeviceIdentity());
    impostor.announce();
    const reader = new Device(other, SAM);
    reader.sync();
    expect(reader.replica.setAside.at(-1)?.detail).toMatch(/must be the device that created/);
  });

  it('brings a fresh device up from a snapshot, then chains on from its heads', () => {
    const { space, alex, sam } = createdAndJoined();
    alex.edit((doc) =>
      checkIn(doc, { partnerId: ALEX, date: '2026-11-03', safety: 7, state: 'calm', at: T0 + 20 }),
    );
    alex.sync();
    const covers = alex.replica.since;
    const snapshot = snapshotOf(alex, space, covers);
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'Sam R.' }));

    const fresh = new Device(space, SAM, sam.identity);
    expect(fresh.replica.receive(covers, snapshot)).toEqual({ kind: 'snapshot' });
    fresh.sync();
    expect(fresh.replica.setAside).toEqual([]);
    sam.sync();
    expect(json(fresh.doc)).toEqual(json(sam.doc));
    expect(fresh.replica.partnerOf(alex.identity.signing.publicKey)).toBe(ALEX);
  });

  it('judges a snapshot by the sequenced log, not by this device’s edits the server has not stored yet', () => {
    const { space, alex, sam } = createdAndJoined();
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'Sam K.' }));
    sam.sync();
    const snapshot = snapshotOf(sam, space, sam.replica.since);
    // Alex is behind the snapshot and has typed something that is not in the log yet.
    checkIn(alex.doc, {
      partnerId: ALEX,
      date: '2026-11-06',
      safety: 9,
      state: 'calm',
      at: T0 + 50,
    });
    expect(alex.replica.receive(sam.replica.since, snapshot)).toEqual({ kind: 'snapshot' });
    expect(listPartners(alex.doc)[1]?.displayName).toBe('Sam K.');
    expect(listCheckins(alex.doc)).toHaveLength(1);
  });

  it('refuses a snapshot that leaves out what the device already holds', () => {
    const { space, alex, sam } = createdAndJoined();
    const held = sam.replica.since;
    alex.edit((doc) =>
      checkIn(doc, { partnerId: ALEX, date: '2026-11-04', safety: 8, state: 'calm', at: T0 + 30 }),
    );
    alex.sync();
    const partial = new Y.Doc();
    Y.applyUpdate(
      partial,
      space.log.entries.length
        ? Y.encodeStateAsUpdate(alex.doc, Y.encodeStateVector(sam.doc))
        : new Uint8Array(),
    );
    const snapshot = snapshotOf(alex, space, alex.replica.since, Y.encodeStateAsUpdate(partial));
    expect(sam.replica.since).toBe(held);
    const receipt = sam.replica.receive(alex.replica.since, snapshot);
    expect(receipt).toMatchObject({
      kind: 'set-aside',
      entry: { reason: SetAsideReason.badSnapshot },
    });
  });

  it('converges for any interleaving of honest edits and syncs, setting nothing aside', () => {
    const step = fc.oneof(
      fc.record({ who: fc.constantFrom('alex', 'sam'), op: fc.constant('sync' as const) }),
      fc.record({
        who: fc.constantFrom('alex', 'sam'),
        op: fc.constant('rename' as const),
        name: fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s.trim().length > 0),
      }),
      fc.record({
        who: fc.constantFrom('alex', 'sam'),
        op: fc.constant('checkin' as const),
        day: fc.integer({ min: 1, max: 9 }),
        safety: fc.integer({ min: 0, max: 10 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const { alex, sam } = createdAndJoined();
        for (const s of steps) {
          const device = s.who === 'alex' ? alex : sam;
          const me = s.who === 'alex' ? ALEX : SAM;
          if (s.op === 'sync') device.sync();
          else if (s.op === 'rename')
            device.edit((doc) => setDisplayName(doc, { partnerId: me, displayName: s.name }));
          else {
            device.edit((doc) =>
              checkIn(doc, {
                partnerId: me,
                date: `2026-11-0${s.day}`,
                safety: s.safety,
                state: 'calm',
                at: T0 + 100,
              }),
            );
          }
        }
        alex.sync();
        sam.sync();
        expect(json(alex.doc)).toEqual(json(sam.doc));
        expect(alex.replica.setAside).toEqual([]);
        expect(sam.replica.setAside).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  it('never lets forged or garbled envelopes change what the honest partner wrote', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (flips) => {
          const { space, alex, sam } = createdAndJoined();
          alex.edit((doc) =>
            checkIn(doc, {
              partnerId: ALEX,
              date: '2026-11-05',
              safety: 5,
              state: 'alert',
              at: T0 + 40,
            }),
          );
          const mine = () => JSON.stringify([listCheckins(alex.doc), listPartners(alex.doc)[0]]);
          sam.sync();
          const honest = JSON.stringify([listCheckins(sam.doc), listPartners(sam.doc)[0]]);
          // Sam's device turns hostile: it writes Alex's things and garbles what it stores.
          const from = space.log.entries.length;
          sam.edit((doc) => setDisplayName(doc, { partnerId: ALEX, displayName: 'X' }));
          sam.edit((doc) =>
            checkIn(doc, {
              partnerId: ALEX,
              date: '2026-11-05',
              safety: 0,
              state: 'fight',
              at: T0 + 41,
            }),
          );
          for (const [i, x] of flips) {
            const copy = space.log.entries[from + (i % 2)]!.slice();
            copy[i % copy.length]! ^= x;
            space.log.append(copy);
          }
          alex.sync();
          expect(mine()).toBe(honest);
        },
      ),
      { numRuns: 30 },
    );
  });
});
