import { checkIn, listCheckins, listPartners, roots, setDisplayName } from '@mend/model';
import { decodeEnvelope } from '@mend/protocol';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { decodeSnapshotPayload } from '../payloads.js';
import { SetAsideReason } from './SealedReplica.js';
import type * as snapshotCheck from './snapshotCheck.js';
import { snapshotHides } from './snapshotCheck.js';
import { equalBytes } from '../bytes.js';
import { ALEX, createdAndJoined, Device, SAM, snapshotOf, T0 } from './testing/sealedSpace.js';

// The real check, watched: whether the replica read a snapshot for what it hides.
vi.mock('./snapshotCheck.js', async (importOriginal) => {
  const actual = await importOriginal<typeof snapshotCheck>();
  return { ...actual, snapshotHides: vi.fn(actual.snapshotHides) };
});
const hidesCheck = vi.mocked(snapshotHides);
beforeEach(() => hidesCheck.mockClear());

/** The whole document as plain data (every root typed first, or toJSON leaves it out). */
const json = (doc: Y.Doc) => (roots(doc), doc.toJSON());

/** Alex checks in and takes it in: a snapshot of Alex's document then covers the whole log. */
function spaceWithCheckin() {
  const { space, alex, sam } = createdAndJoined();
  alex.edit((doc) =>
    checkIn(doc, { partnerId: ALEX, date: '2026-11-03', safety: 7, state: 'calm', at: T0 + 20 }),
  );
  alex.sync();
  return { space, alex, sam, covers: alex.replica.since };
}

/** The sequenced log as a snapshot written now would carry it, as a document. */
function logOf(device: Device): Y.Doc {
  const written = device.replica.snapshot();
  if (!written) throw new Error('the replica cannot write a snapshot here');
  const log = new Y.Doc();
  Y.applyUpdate(log, decodeSnapshotPayload(written.payload).yjsState);
  return log;
}

describe('a sealed replica taking in a snapshot', () => {
  it('takes it into a log that holds nothing without reading it for what it hides, and chains on', () => {
    const { space, alex, sam, covers } = spaceWithCheckin();
    const snapshot = snapshotOf(alex, space, covers);
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'Sam R.' }));

    const fresh = new Device(space, SAM, sam.identity);
    expect(fresh.replica.receive(covers, snapshot)).toEqual({ kind: 'snapshot' });
    expect(hidesCheck).not.toHaveBeenCalled();
    expect(json(fresh.doc)).toEqual(json(alex.doc));
    expect(json(logOf(fresh))).toEqual(json(alex.doc));
    expect(fresh.replica.partnerOf(alex.identity.signing.publicKey)).toBe(ALEX);

    fresh.sync();
    sam.sync();
    expect(fresh.replica.setAside).toEqual([]);
    expect(json(fresh.doc)).toEqual(json(sam.doc));
  });

  it('keeps the log it starts apart from the working document and its unstored edits', () => {
    const { space, alex, covers } = spaceWithCheckin();
    const snapshot = snapshotOf(alex, space, covers);
    const fresh = new Device(space, SAM);
    // Written on this device before it synced: in its document, not in the log.
    fresh.doc.getMap('unsent').set('note', 'typed before syncing');

    expect(fresh.replica.receive(covers, snapshot)).toEqual({ kind: 'snapshot' });
    expect(hidesCheck).not.toHaveBeenCalled();
    expect(listCheckins(fresh.doc)).toHaveLength(1);
    expect(fresh.doc.getMap('unsent').get('note')).toBe('typed before syncing');
    expect(logOf(fresh).getMap('unsent').size).toBe(0);
    expect(fresh.replica.notInLog(Y.encodeStateAsUpdate(fresh.doc))).not.toBeNull();
    // A later edit reaches the working document only: the two are separate documents.
    setDisplayName(fresh.doc, { partnerId: SAM, displayName: 'S.' });
    expect(json(logOf(fresh))).toEqual(json(alex.doc));
    expect(json(logOf(fresh))).not.toEqual(json(fresh.doc));
  });

  it('sets aside a snapshot whose document cannot be read, leaving the log and the document empty', () => {
    const { space, alex, covers } = spaceWithCheckin();
    const garbled = snapshotOf(alex, space, covers, Uint8Array.of(200, 1, 2, 3));
    const fresh = new Device(space, SAM);

    expect(fresh.replica.receive(covers, garbled)).toEqual({
      kind: 'set-aside',
      entry: {
        seq: covers,
        reason: SetAsideReason.badSnapshot,
        detail: 'the snapshot’s document cannot be read',
        author: expect.any(String),
      },
    });
    expect(fresh.doc.store.clients.size).toBe(0);
    expect(fresh.replica.notInLog(Y.encodeStateAsUpdate(alex.doc))).not.toBeNull();
    expect(fresh.replica.members.size).toBe(0);
  });

  it('still reads a snapshot for what it hides once the log holds a prefix, and refuses one that hides something', () => {
    const { space, alex, sam } = createdAndJoined();
    const held = Y.encodeStateAsUpdate(sam.doc);
    alex.edit((doc) =>
      checkIn(doc, { partnerId: ALEX, date: '2026-11-04', safety: 8, state: 'calm', at: T0 + 30 }),
    );
    alex.sync();
    // What Alex wrote after Sam's prefix, without the prefix.
    const partial = new Y.Doc();
    Y.applyUpdate(partial, Y.encodeStateAsUpdate(alex.doc, Y.encodeStateVectorFromUpdate(held)));
    const hiding = snapshotOf(alex, space, alex.replica.since, Y.encodeStateAsUpdate(partial));

    expect(sam.replica.receive(alex.replica.since, hiding)).toMatchObject({
      kind: 'set-aside',
      entry: { reason: SetAsideReason.badSnapshot, detail: expect.stringMatching(/leaves out/) },
    });
    expect(hidesCheck).toHaveBeenCalledTimes(1);
    expect(listCheckins(sam.doc)).toHaveLength(0);
  });

  it('takes a snapshot by the partner who joined after this device last synced: its list makes them a member', () => {
    const { space, sam } = createdAndJoined();
    // Alex's devices were away from just before Sam's first envelope: they hold the log to there.
    const samKey = sam.identity.signing.publicKey;
    const joined = space.log.entries.findIndex((e) => equalBytes(decodeEnvelope(e).author, samKey));
    const away = () => {
      const device = new Device(space, ALEX, space.creator);
      for (let seq = 1; seq <= joined; seq++) {
        device.replica.receive(seq, space.log.entries[seq - 1]!);
      }
      expect(device.replica.partnerOf(samKey)).toBeNull();
      return device;
    };
    // The server now serves Sam's snapshot in place of all that.
    const alex = away();
    expect(alex.replica.receive(sam.replica.since, snapshotOf(sam, space))).toEqual({
      kind: 'snapshot',
    });
    expect(alex.replica.setAside).toEqual([]);
    expect(alex.replica.partnerOf(samKey)).toBe(SAM);
    expect(listPartners(alex.doc).map((p) => p.displayName)).toEqual(['Alex', 'Sam']);
    // A stranger's snapshot is still refused, by what the snapshot lists.
    const stranger = new Device(space, SAM);
    stranger.sync();
    const alexToo = away();
    expect(
      alexToo.replica.receive(stranger.replica.since, snapshotOf(stranger, space)),
    ).toMatchObject({
      kind: 'set-aside',
      entry: { reason: SetAsideReason.stranger },
    });
    expect(alexToo.replica.partnerOf(samKey)).toBeNull();
  });

  it('takes an honest snapshot into a log that holds a prefix after checking it', () => {
    const { space, alex, sam, covers } = spaceWithCheckin();
    const snapshot = snapshotOf(alex, space, covers);

    expect(sam.replica.receive(covers, snapshot)).toEqual({ kind: 'snapshot' });
    expect(hidesCheck).toHaveBeenCalledTimes(1);
    expect(json(sam.doc)).toEqual(json(alex.doc));
    expect(json(logOf(sam))).toEqual(json(alex.doc));
  });
});
