import { getPartner, listPartners, RULES_VERSION, setDisplayName } from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SealedError } from '../errors.js';
import { decodeRulesPayload, encodeRulesPayload } from '../payloads.js';
import { modelRules } from './rulesBook.js';
import { SealedReplica, SetAsideReason, type RulesBook } from './SealedReplica.js';
import { newerRules, updatedMend } from './testing/rules.js';
import {
  ALEX,
  createdAndJoined,
  Device,
  SAM,
  snapshotOf,
  type Space,
} from './testing/sealedSpace.js';

/**
 * Rules versions (docs/protocol.md, "Rules versions"): every update is judged by the version of
 * the model's rules the log stood at when it was sequenced, so devices of every version reach
 * the same verdicts, and a device that does not know a version stops there rather than decide.
 * `newerRules` is a made-up version 3: versions 1 and 2 and, on top, no name starting "Forbidden".
 */
const rename = (device: Device, displayName: string) =>
  device.edit((doc) => setDisplayName(doc, { partnerId: device.partnerId, displayName }));

/** A device of `of`'s seat and identity, knowing `rules`, synced from the start of the log. */
function twin(space: Space, of: Device, rules?: RulesBook): Device {
  const device = new Device(space, of.partnerId, of.identity, rules);
  device.sync();
  return device;
}

/** Alex states version 3 between two renames by Sam to a name version 3 refuses. */
function aSpaceMovedOnToVersion3() {
  const { space, alex, sam } = createdAndJoined();
  const before = rename(sam, 'Forbidden');
  const statement = alex.stateRules(3);
  const after = rename(sam, 'Forbidden again');
  return { space, alex, sam, before, statement, after };
}

describe('rules statements', () => {
  it('this build knows versions 1 and 2 (the model’s rules 1 both), and a space starts under 1', () => {
    // Raising the model's RULES_VERSION needs a version 3 here that keeps 1's and 2's verdicts.
    expect(RULES_VERSION).toBe(1);
    expect(modelRules.latest).toBe(2);
    expect(modelRules.tightened).toBe(1);
    const { alex } = createdAndJoined();
    expect(alex.replica.rulesVersion).toBe(1);
    expect(alex.replica.paused).toBeNull();
  });

  it('reads and writes a version from 2, and refuses anything else', () => {
    expect(decodeRulesPayload(encodeRulesPayload(2))).toBe(2);
    expect(decodeRulesPayload(encodeRulesPayload(2 ** 40))).toBe(2 ** 40);
    expect(() => encodeRulesPayload(1)).toThrow(SealedError);
    expect(() => decodeRulesPayload(Uint8Array.of(5, 1))).toThrow(/from 2/);
    expect(() => decodeRulesPayload(Uint8Array.of(5))).toThrow(SealedError);
    expect(() => decodeRulesPayload(Uint8Array.of(5, 2, 0))).toThrow(/bytes after/);
    expect(() => decodeRulesPayload(Uint8Array.of(4, 2))).toThrow(/not a rules statement/);
  });

  it('judges each update by the version the log stood at when it was sequenced', () => {
    const { space, alex, sam, before, statement, after } = aSpaceMovedOnToVersion3();
    for (const device of [twin(space, alex, newerRules), twin(space, sam, newerRules)]) {
      const receipts = device.receipts;
      expect(receipts[before - 1]).toEqual({ kind: 'applied' });
      expect(receipts[statement - 1]).toEqual({
        kind: 'rules',
        rules: 3,
        by: expect.any(String),
      });
      expect(receipts[after - 1]).toMatchObject({
        kind: 'set-aside',
        entry: { seq: after, reason: SetAsideReason.refused },
      });
      expect(device.replica.rulesVersion).toBe(3);
      expect(device.replica.paused).toBeNull();
      expect(getPartner(device.doc, SAM)?.displayName).toBe('Forbidden');
    }
  });

  it('stops a device that does not know the version at its statement, taking nothing after it', () => {
    const { space, alex, statement, after } = aSpaceMovedOnToVersion3();
    const older = twin(space, alex);
    expect(older.replica.since).toBe(statement);
    expect(older.replica.rulesVersion).toBe(3);
    expect(older.replica.paused).toBe(3);
    expect(older.receipts.at(-1)).toEqual({ kind: 'paused', rules: 3 });
    expect(older.receipts.filter((r) => r.kind === 'set-aside')).toEqual([]);
    // Nothing after the statement: not the update, not its own envelopes, not a gap.
    const bytes = space.log.entries[after - 1]!;
    expect(older.replica.receive(after, bytes)).toEqual({ kind: 'paused', rules: 3 });
    expect(older.replica.receiveOwn(after, bytes)).toEqual({ kind: 'paused', rules: 3 });
    expect(() => older.replica.passOver(after)).toThrow(RangeError);
    expect(older.replica.since).toBe(statement);
    expect(older.replica.setAside).toEqual([]);
  });

  it('goes on where it stopped once a newer Mend opens it, to the verdicts of every other device', () => {
    const { space, alex, sam } = aSpaceMovedOnToVersion3();
    const older = twin(space, alex);
    const { replica: updated, doc } = updatedMend(space, older);
    expect(updated.rulesVersion).toBe(3);
    expect(updated.paused).toBeNull();
    const newer = twin(space, sam, newerRules);
    expect(updated.setAside).toEqual(newer.replica.setAside);
    expect(listPartners(doc)).toEqual(listPartners(newer.doc));
    expect(getPartner(doc, SAM)?.displayName).toBe('Forbidden');
    // The same device, restored by the Mend that stopped: still stopped.
    const again = SealedReplica.restore(
      { doc: new Y.Doc(), keyring: older.keyring, creator: space.creator.signing.publicKey },
      older.replica.exportState(),
    );
    expect(again.paused).toBe(3);
  });

  it('takes a statement the log is already at as known, and sets aside one from a stranger', () => {
    const { space, alex, sam, statement } = aSpaceMovedOnToVersion3();
    const second = sam.stateRules(3);
    const stranger = new Device(space, SAM);
    const forged = stranger.stateRules(4);
    const device = twin(space, alex, newerRules);
    expect(device.receipts[second - 1]).toMatchObject({ kind: 'rules', rules: 3 });
    expect(device.receipts[forged - 1]).toMatchObject({
      kind: 'set-aside',
      entry: { reason: SetAsideReason.stranger },
    });
    expect(device.replica.rulesVersion).toBe(3);
    expect(device.replica.paused).toBeNull();
    // Only the statement that moved the version on is kept, for snapshots to carry.
    expect(device.replica.coverage().links.map((l) => l.seq)).toEqual([statement]);
  });

  it('a snapshot carries the version: a fresh device stands at it, or stops there', () => {
    const { space, alex } = aSpaceMovedOnToVersion3();
    const writer = twin(space, alex, newerRules);
    const snapshot = snapshotOf(writer, space);
    const covers = writer.replica.since;
    const fresh = new Device(space, ALEX, alex.identity, newerRules);
    fresh.replica.receive(covers, snapshot);
    expect(fresh.replica.rulesVersion).toBe(3);
    expect(fresh.replica.paused).toBeNull();
    const older = new Device(space, ALEX, alex.identity);
    expect(older.replica.receive(covers, snapshot)).toEqual({ kind: 'snapshot' });
    expect(older.replica.paused).toBe(3);
    expect(older.replica.since).toBe(covers);
  });

  it('is sealed as a keys statement, never as an update', () => {
    const { space } = aSpaceMovedOnToVersion3();
    const kinds = space.log.entries.map((bytes) => bytes[1]);
    expect(kinds.filter((k) => k === EnvelopeKind.keys)).toHaveLength(1);
  });
});
