import {
  checkIn,
  initSpace,
  listCheckins,
  listPartners,
  offerSealingKeys,
  proposeAgreement,
  readSealingKeys,
  renameSpace,
  roots,
  setDisplayName,
} from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { sha256 } from '../crypto.js';
import { sealEnvelope } from '../envelopes.js';
import { carryOver } from './carryOver.js';
import { SealedReplica, SetAsideReason } from './SealedReplica.js';
import {
  converted,
  key,
  plainSync,
  plaintextSpace,
  samArrives,
  writtenAs,
} from './testing/conversion.js';
import { ALEX, Device, newSpace, SAM, T0 } from './testing/sealedSpace.js';

/** The whole document as plain data (every root typed first, or toJSON leaves it out). */
const json = (doc: Y.Doc) => (roots(doc), doc.toJSON());
const asideReasons = (d: Device) => d.replica.setAside.map((e) => e.reason);
const samCheckIn = (doc: Y.Doc, day: number, safety = 6) =>
  checkIn(doc, {
    partnerId: SAM,
    date: `2026-11-${String(day).padStart(2, '0')}`,
    safety,
    state: 'calm',
    at: T0 + day,
  });

describe('a sealed replica of a converted space', () => {
  it('takes the creator’s genesis as the starting state and the other partner’s offline changes carried on top', () => {
    const { alexPlain, samPlain } = plaintextSpace();
    // Written while Sam was offline: never reached the plaintext server, so not in the genesis.
    samCheckIn(samPlain, 3);
    setDisplayName(samPlain, { partnerId: SAM, displayName: 'Samuel' });
    renameSpace(samPlain, { name: 'Our old space', by: SAM });
    const { space, alex } = converted(alexPlain);
    const sam = samArrives(space, samPlain);
    alex.sync();

    expect(alex.replica.setAside).toEqual([]);
    expect(sam.replica.setAside).toEqual([]);
    expect(json(alex.doc)).toEqual(json(sam.doc));
    expect(listCheckins(alex.doc).map((c) => c.partnerId)).toEqual([SAM]);
    expect(listPartners(alex.doc).map((p) => p.displayName)).toEqual(['Alex', 'Samuel']);
    expect(readSealingKeys(alex.doc).size).toBe(2);
    expect(alex.replica.partnerOf(sam.identity.signing.publicKey)).toBe(SAM);
    // Sealed edits go on as usual after it.
    sam.edit((doc) => samCheckIn(doc, 4));
    alex.sync();
    expect(listCheckins(alex.doc)).toHaveLength(2);
  });

  it('carries nothing when the plaintext copy holds nothing the log lacks', () => {
    const { alexPlain, samPlain } = plaintextSpace();
    const { space } = converted(alexPlain);
    const sam = new Device(space, SAM);
    sam.sync();
    expect(sam.replica.notInLog(Y.encodeStateAsUpdate(samPlain))).toBeNull();
    expect(carryOver(samPlain, sam.doc)).toBeNull();
    samCheckIn(samPlain, 5);
    expect(carryOver(samPlain, sam.doc)).not.toBeNull();
  });

  it('takes a genesis only from the creator, at counter 2, before anything else is in the log', () => {
    const { alexPlain } = plaintextSpace();
    const state = Y.encodeStateAsUpdate(alexPlain);

    // Sam's carried envelope right after his statement is no genesis: judged as Sam's, it
    // writes Alex's record and the space's set-once fields.
    const first = newSpace();
    const creator = new Device(first, ALEX, first.creator);
    creator.announce();
    const sam = new Device(first, SAM);
    sam.sync();
    sam.announce();
    sam.publish(EnvelopeKind.carried, state);
    creator.sync();
    expect(asideReasons(creator)).toEqual([SetAsideReason.refused]);
    expect(listPartners(creator.doc)).toEqual([]);

    // The creator's carried envelope at counter 3 is judged as Alex's: Sam's record is not his.
    const second = newSpace();
    const late = new Device(second, ALEX, second.creator);
    late.announce();
    late.publish(EnvelopeKind.update, new Uint8Array([0, 0]));
    late.publish(EnvelopeKind.carried, state);
    const reader = new Device(second, SAM);
    reader.sync();
    expect(asideReasons(reader)).toEqual([SetAsideReason.refused]);
    expect(listPartners(reader.doc)).toEqual([]);

    // After another update is in the log, counter 2 is no genesis either.
    const third = newSpace();
    const alex = new Device(third, ALEX, third.creator);
    alex.announce();
    const other = new Device(third, SAM);
    other.sync();
    other.announce();
    other.edit((doc) => initSpace(doc, { name: 'Made first', createdAt: T0 }));
    alex.publish(EnvelopeKind.carried, state);
    const watcher = new Device(third, SAM);
    watcher.sync();
    expect(asideReasons(watcher)).toEqual([SetAsideReason.refused]);
    expect(json(watcher.doc)).toMatchObject({ space: { name: 'Made first' } });
  });

  it('sets aside a genesis that cannot be read, and keeps syncing', () => {
    const space = newSpace();
    const alex = new Device(space, ALEX, space.creator);
    alex.announce();
    alex.publish(EnvelopeKind.carried, new Uint8Array([1, 200, 3]));
    const sam = new Device(space, SAM);
    sam.sync();
    expect(sam.replica.setAside.map((e) => [e.reason, e.detail])).toEqual([
      [SetAsideReason.refused, expect.stringMatching(/starting state cannot be read/)],
    ]);
    expect(sam.replica.since).toBe(2);
  });

  it('sets aside carried changes written under a client id a sealed stream claimed, but not its own', () => {
    const { alexPlain, samPlain } = plaintextSpace();
    const { space, alex } = converted(alexPlain);
    const sam = samArrives(space, samPlain);
    alex.sync();
    const before = json(alex.doc);
    // Alex's stream wrote only envelopes so far, yet it is Alex's: a shared change under its id
    // would let Sam speak for Alex's device.
    sam.publish(
      EnvelopeKind.carried,
      writtenAs(sam.doc, alex.writer.stream, (doc) =>
        renameSpace(doc, { name: 'Forged', by: SAM }),
      ),
    );
    alex.sync();
    expect(alex.replica.setAside.map((e) => [e.reason, e.detail])).toEqual([
      [SetAsideReason.refused, expect.stringMatching(/claimed/)],
    ]);
    expect(json(alex.doc)).toEqual(before);
    // Under the envelope's own stream it is Sam's to write.
    sam.publish(
      EnvelopeKind.carried,
      writtenAs(sam.doc, sam.writer.stream, (doc) => renameSpace(doc, { name: 'Ours', by: SAM })),
    );
    alex.sync();
    expect(alex.replica.setAside).toHaveLength(1);
    expect(json(alex.doc)).toMatchObject({ space: { name: 'Ours' } });
  });

  it('sets aside carried changes to what is the other partner’s, and carried changes from a stranger', () => {
    const { alexPlain, samPlain } = plaintextSpace();
    const { space, alex } = converted(alexPlain);
    const sam = samArrives(space, samPlain);
    alex.sync();
    const before = json(alex.doc);
    const unclaimed = 4242;
    sam.publish(
      EnvelopeKind.carried,
      writtenAs(sam.doc, unclaimed, (doc) =>
        setDisplayName(doc, { partnerId: ALEX, displayName: 'Liar' }),
      ),
    );
    // Not even the sealing map: it is history once the space is sealed.
    sam.publish(
      EnvelopeKind.carried,
      writtenAs(sam.doc, unclaimed + 1, (doc) =>
        offerSealingKeys(doc, { partnerId: SAM, signingKey: key('x'), agreementKey: key('y') }),
      ),
    );
    const stranger = new Device(space, SAM);
    stranger.publish(
      EnvelopeKind.carried,
      writtenAs(sam.doc, unclaimed + 2, (doc) => renameSpace(doc, { name: 'Mine', by: SAM })),
    );
    alex.sync();
    expect(asideReasons(alex)).toEqual([
      SetAsideReason.refused,
      SetAsideReason.refused,
      SetAsideReason.stranger,
    ]);
    expect(json(alex.doc)).toEqual(before);
  });

  it('restores where it stood on either side of the genesis, and a later snapshot covers it', () => {
    const { alexPlain, samPlain } = plaintextSpace();
    samCheckIn(samPlain, 7);
    const { space, alex } = converted(alexPlain);

    // A device that stored its state after the member statement alone still knows the genesis.
    const early = new Device(space, SAM);
    early.replica.receive(1, space.log.entries[0]!);
    const restored = SealedReplica.restore(
      { doc: early.doc, keyring: early.keyring, creator: space.creator.signing.publicKey },
      early.replica.exportState(),
    );
    expect(restored.receive(2, space.log.entries[1]!)).toEqual({ kind: 'applied' });
    expect(restored.setAside).toEqual([]);

    const sam = samArrives(space, samPlain);
    const alexAgain = SealedReplica.restore(
      { doc: alex.doc, keyring: alex.keyring, creator: space.creator.signing.publicKey },
      alex.replica.exportState(),
    );
    for (let seq = alexAgain.since + 1; seq <= space.log.entries.length; seq++) {
      expect(alexAgain.receive(seq, space.log.entries[seq - 1]!).kind).not.toBe('set-aside');
    }
    expect(json(alex.doc)).toEqual(json(sam.doc));

    // Alex writes a snapshot of everything so far; a new device of Sam's starts from it.
    const covers = alexAgain.snapshot()!;
    expect(covers.covers.seq).toBe(space.log.entries.length);
    const snapshot = sealEnvelope({
      identity: alex.identity,
      keyring: alex.keyring,
      kind: EnvelopeKind.snapshot,
      stream: 999,
      counter: 0,
      covers: { seq: covers.covers.seq, hash: sha256(space.log.entries.at(-1)!) },
      payload: covers.payload,
    }).bytes;
    const fresh = new Device(space, SAM, sam.identity);
    expect(fresh.replica.receive(covers.covers.seq, snapshot)).toEqual({ kind: 'snapshot' });
    expect(json(fresh.doc)).toEqual(json(sam.doc));
    sam.edit((doc) => samCheckIn(doc, 8));
    fresh.sync();
    expect(listCheckins(fresh.doc)).toHaveLength(2);
    expect(fresh.replica.setAside).toEqual([]);
  });

  it('converges whatever both partners wrote offline, and forged carried envelopes change nothing', () => {
    const edit = fc.record({
      who: fc.constantFrom('alex', 'sam'),
      op: fc.constantFrom('checkin', 'rename', 'agreement', 'space', 'relay'),
      day: fc.integer({ min: 1, max: 9 }),
      word: fc.constantFrom('Kit', 'Lou', 'Max', 'Noa'),
    });
    const forgery = fc.constantFrom('alex-name', 'alex-checkin', 'alex-stream', 'sealing');
    fc.assert(
      fc.property(
        fc.array(edit, { maxLength: 12 }),
        fc.array(edit, { maxLength: 6 }),
        fc.array(forgery, { maxLength: 3 }),
        (beforeSealing, sealedEdits, forgeries) => {
          const { alexPlain, samPlain } = plaintextSpace();
          const write = (doc: Y.Doc, who: 'alex' | 'sam', e: (typeof beforeSealing)[number]) => {
            const me = who === 'alex' ? ALEX : SAM;
            const at = T0 + 100 + e.day;
            switch (e.op) {
              case 'checkin':
                return checkIn(doc, {
                  partnerId: me,
                  date: `2026-11-0${e.day}`,
                  safety: e.day,
                  state: 'calm',
                  at,
                });
              case 'rename':
                return setDisplayName(doc, { partnerId: me, displayName: e.word });
              case 'agreement':
                return void proposeAgreement(doc, { title: e.word, body: '', by: me, at });
              case 'space':
                return renameSpace(doc, { name: e.word, by: me });
              case 'relay':
                return plainSync(alexPlain, samPlain);
            }
          };
          for (const e of beforeSealing) {
            write(e.who === 'alex' ? alexPlain : samPlain, e.who, e);
          }
          const samWrote = listCheckins(samPlain).filter((c) => c.partnerId === SAM);
          const { space, alex } = converted(alexPlain);
          for (const e of sealedEdits.filter((x) => x.who === 'alex' && x.op !== 'relay')) {
            alex.edit((doc) => write(doc, 'alex', e));
          }
          const sam = samArrives(space, samPlain);
          alex.sync();
          const honest = json(alex.doc);
          for (const f of forgeries) {
            const client = f === 'alex-stream' ? alex.writer.stream : 7000 + forgeries.length;
            sam.publish(
              EnvelopeKind.carried,
              writtenAs(sam.doc, client, (doc) => {
                if (f === 'alex-name') setDisplayName(doc, { partnerId: ALEX, displayName: 'X' });
                else if (f === 'alex-checkin') {
                  checkIn(doc, {
                    partnerId: ALEX,
                    date: '2026-12-01',
                    safety: 0,
                    state: 'fight',
                    at: T0,
                  });
                } else if (f === 'sealing') roots(doc).sealing.delete(ALEX);
                else renameSpace(doc, { name: 'Forged', by: SAM });
              }),
            );
          }
          alex.sync();
          sam.sync();
          expect(alex.replica.setAside.map((e) => e.reason)).toEqual(
            forgeries.map(() => SetAsideReason.refused),
          );
          expect(json(alex.doc)).toEqual(honest);
          // Sam's device holds its forgeries in its own copy: compare what the log holds.
          const samLog = new Device(space, SAM, sam.identity);
          samLog.sync();
          expect(json(samLog.doc)).toEqual(honest);
          // Nothing Sam wrote before the conversion is lost.
          for (const c of samWrote) {
            expect(listCheckins(alex.doc)).toContainEqual(c);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
