import { listPartners, setDisplayName } from '@mend/model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Receipt } from './SealedReplica.js';
import { newerRules, updatedMend } from './testing/rules.js';
import { createdAndJoined, Device, snapshotOf, type Space } from './testing/sealedSpace.js';

/**
 * Rules versions, whatever the log holds (docs/protocol.md, "Rules versions"): renames that
 * version 3 refuses ("Forbidden…") and that it allows, rules statements by either partner (of
 * version 3, or stating the version the log is already at), snapshots, in any order. A device
 * whose Mend knows versions 1 and 2 only and one that knows version 3 never disagree on a
 * position both took in; the older one stops at the first statement of version 3 and nowhere
 * else; restored by
 * a newer Mend, it ends where the newer device ends.
 */

type Step =
  | 'alex-renames'
  | 'sam-renames'
  | 'alex-forbidden'
  | 'sam-forbidden'
  | 'alex-states-3'
  | 'sam-states-3'
  | 'snapshot';

const steps: Step[] = [
  'alex-renames',
  'sam-renames',
  'alex-forbidden',
  'sam-forbidden',
  'alex-states-3',
  'sam-states-3',
  'snapshot',
];

/** What a receipt says about a position, for comparing two devices' verdicts. */
const verdict = (r: Receipt) => (r.kind === 'set-aside' ? `set-aside ${r.entry.reason}` : r.kind);

/** A device of `of`'s seat knowing `rules`, synced from a fresh start: from the stored snapshot if any. */
function fresh(space: Space, of: Device, snapshot: { seq: number; bytes: Uint8Array } | null) {
  const device = new Device(space, of.partnerId, of.identity, newerRules);
  const older = new Device(space, of.partnerId, of.identity);
  for (const d of [device, older]) {
    if (snapshot) d.receipts.push(d.replica.receive(snapshot.seq, snapshot.bytes));
    d.sync();
  }
  return { device, older };
}

describe('rules versions, whatever the log holds', () => {
  it('never leave an older and a newer device disagreeing; the older stops at version 3 and goes on once updated', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...steps), { maxLength: 14 }), (plan) => {
        const { space, alex, sam } = createdAndJoined();
        const start = space.log.entries.length;
        let snapshot: { seq: number; bytes: Uint8Array } | null = null;
        let n = 0;
        for (const step of plan) {
          n++;
          const who = step.startsWith('alex') ? alex : sam;
          switch (step) {
            case 'alex-renames':
            case 'sam-renames':
            case 'alex-forbidden':
            case 'sam-forbidden': {
              const name = `${step.endsWith('forbidden') ? 'Forbidden' : 'Name'} ${n}`;
              who.edit((doc) =>
                setDisplayName(doc, { partnerId: who.partnerId, displayName: name }),
              );
              break;
            }
            case 'alex-states-3':
            case 'sam-states-3':
              who.stateRules(3);
              break;
            case 'snapshot': {
              // Written by a device that knows version 3, of everything up to here.
              const writer = new Device(space, alex.partnerId, alex.identity, newerRules);
              writer.sync();
              snapshot = { seq: writer.replica.since, bytes: snapshotOf(writer, space) };
              break;
            }
          }
          // Each partner's own device keeps up, as the writing devices of the log would.
          alex.sync();
          sam.sync();
        }

        const { device: newer, older } = fresh(space, sam, null);
        // The first statement of version 3 moves the log on (every one here is a member's).
        const firstStatement = newer.receipts.findIndex((r) => r.kind === 'rules');
        expect(firstStatement === -1 || firstStatement >= start).toBe(true);
        // Position by position, where both took it in, they agree.
        const both = Math.min(newer.receipts.length, older.receipts.length);
        for (let i = 0; i < both; i++) {
          const o = older.receipts[i]!;
          if (o.kind === 'paused') break;
          expect(verdict(o)).toBe(verdict(newer.receipts[i]!));
        }
        expect(newer.replica.paused).toBeNull();
        if (firstStatement < 0) {
          expect(older.replica.paused).toBeNull();
          expect(older.replica.since).toBe(space.log.entries.length);
        } else {
          expect(older.replica.paused).toBe(3);
          expect(older.replica.since).toBe(firstStatement + 1);
        }
        // Restored by a newer Mend, the older device ends where the newer one does.
        const { replica: updated, doc } = updatedMend(space, older);
        expect(updated.setAside).toEqual(newer.replica.setAside);
        expect(Y.encodeStateVector(doc)).toEqual(Y.encodeStateVector(newer.doc));
        expect(listPartners(doc)).toEqual(listPartners(newer.doc));
        // From the snapshot, a fresh device stands where the log stood at what it covers.
        if (snapshot) {
          const from = fresh(space, sam, snapshot);
          expect(from.device.replica.setAside.filter((e) => e.seq > snapshot!.seq)).toEqual(
            newer.replica.setAside.filter((e) => e.seq > snapshot!.seq),
          );
          expect(listPartners(from.device.doc)).toEqual(listPartners(newer.doc));
          const stopped = firstStatement >= 0;
          expect(from.older.replica.paused).toBe(stopped ? 3 : null);
        }
      }),
      { numRuns: 60 },
    );
  });
});
