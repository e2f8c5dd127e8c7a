/**
 * SPEC.md, "Partial delivery": an update that follows one this replica has not received yet is
 * parked by Yjs (`doc.store.pendingStructs`), but its deletions apply at once. An overwritten
 * field's old value is then gone while the new one waits; the readers must not show the gap.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  acceptAgreement,
  getAgreement,
  listAgreements,
  proposeAgreement,
  setAgreementLifecycle,
} from './agreements.js';
import { addBoundary, editBoundary, getBoundary, listBoundaries } from './boundaries.js';
import { checkIn, checkinKey, getCheckin, listCheckins } from './checkins.js';
import { ModelErrorCode } from './errors.js';
import { askQuestion, closeQuestion, getQuestion } from './questions.js';
import { getPartner, setDisplayName } from './space.js';
import { roots } from './store.js';
import { A, B, T0, codeOf, counterIds, replicaOf, twoPartnerSpace } from './testing/fixtures.js';
import { checkinSeries, todayFor } from './views.js';

const DAY = '2026-11-01';

/**
 * A source document and a replica of it; `deliver` hands the replica the source's updates from
 * now on by index, so a test can deliver them out of order.
 */
function setUp() {
  const source = twoPartnerSpace();
  const replica = replicaOf(source);
  const updates: Uint8Array[] = [];
  source.on('update', (u: Uint8Array) => updates.push(u));
  const deliver = (...indexes: number[]) => {
    for (const i of indexes) Y.applyUpdate(replica, updates[i]!);
  };
  const parked = () => replica.store.pendingStructs !== null;
  /** An unrelated write: the update it makes is the one held back to open the gap. */
  const unrelated = () => askQuestion(source, { text: 'Anything?', by: A, at: T0 }, newId);
  const newId = counterIds('partialdlv');
  return { source, replica, deliver, parked, unrelated, newId };
}

describe('an update that arrives before the one it follows', () => {
  it('a check-in whose update is parked is not shown until the rest arrives, then shows whole', () => {
    const { source, replica, deliver, parked, unrelated } = setUp();
    checkIn(source, { partnerId: A, date: DAY, safety: 3, state: 'alert', at: T0 });
    unrelated();
    checkIn(source, { partnerId: A, date: DAY, safety: 7, state: 'calm', at: T0 + 1 });

    deliver(0, 2);
    expect(parked()).toBe(true);
    // The Yjs behaviour this guards against: the old values are deleted, the new ones wait.
    const raw = roots(replica).checkins.get(checkinKey(DAY, A))!;
    expect(raw.has('safety')).toBe(false);
    expect(raw.has('updatedAt')).toBe(false);
    expect(getCheckin(replica, DAY, A)).toBeNull();
    expect(listCheckins(replica)).toEqual([]);
    expect(todayFor(replica, { partnerId: A, date: DAY }).checkin).toBeNull();
    expect(checkinSeries(replica, { partnerId: A })).toEqual([]);

    deliver(1);
    expect(parked()).toBe(false);
    expect(getCheckin(replica, DAY, A)).toMatchObject({ safety: 7, state: 'calm', note: '' });
    expect(checkinSeries(replica, { partnerId: A })).toEqual([
      { date: DAY, safety: 7, state: 'calm' },
    ]);
  });

  it('checking in again with the same safety and state rewrites only the time', () => {
    const { source, replica, deliver, unrelated } = setUp();
    checkIn(source, { partnerId: A, date: DAY, safety: 3, state: 'alert', note: 'x', at: T0 });
    unrelated();
    checkIn(source, { partnerId: A, date: DAY, safety: 3, state: 'alert', note: 'x', at: T0 + 1 });
    deliver(0, 2);
    const raw = roots(replica).checkins.get(checkinKey(DAY, A))!;
    expect(raw.toJSON()).toEqual({
      date: DAY,
      partnerId: A,
      safety: 3,
      state: 'alert',
      note: 'x',
      createdAt: T0,
    });
  });

  it('an agreement whose lifecycle change is parked is left out, then shows with the new one', () => {
    const { source, replica, deliver, unrelated, newId } = setUp();
    const id = proposeAgreement(source, { title: 'Walk', body: '', by: A, at: T0 }, newId);
    setAgreementLifecycle(source, { agreementId: id, lifecycle: 'retired', by: A, at: T0 });
    unrelated();
    setAgreementLifecycle(source, { agreementId: id, lifecycle: 'paused', by: A, at: T0 + 1 });
    deliver(0, 1, 3);
    expect(roots(replica).agreements.get(id)!.has('lifecycle')).toBe(false);
    expect(getAgreement(replica, id)).toBeNull();
    expect(listAgreements(replica)).toEqual([]);
    // Not shown, so not accepted either: the retired agreement cannot slip through as open.
    const fingerprint = getAgreement(source, id)!.fingerprint;
    expect(
      codeOf(() =>
        acceptAgreement(replica, { agreementId: id, partnerId: B, fingerprint, at: T0 }),
      ),
    ).toBe(ModelErrorCode.notFound);
    deliver(2);
    expect(getAgreement(replica, id)).toMatchObject({ lifecycle: 'paused', status: 'paused' });
  });

  it('a re-acceptance that is parked leaves the earlier acceptance counting, from the history', () => {
    const { source, replica, deliver, parked, unrelated, newId } = setUp();
    const id = proposeAgreement(source, { title: 'Walk', body: '', by: A, at: T0 }, newId);
    const fingerprint = getAgreement(source, id)!.fingerprint;
    for (const partnerId of [A, B]) {
      acceptAgreement(source, { agreementId: id, partnerId, fingerprint, at: T0 });
    }
    unrelated();
    acceptAgreement(source, { agreementId: id, partnerId: A, fingerprint, at: T0 + 1 });
    deliver(0, 1, 2, 4);
    expect(parked()).toBe(true);
    expect(getAgreement(replica, id)).toMatchObject({
      status: 'active',
      acceptedCurrentBy: [A, B],
    });
    deliver(3);
    expect(getAgreement(replica, id)!.acceptances).toContainEqual({
      partnerId: A,
      fingerprint,
      at: T0 + 1,
    });
  });

  it('a boundary whose edit is parked is left out rather than shown without its text', () => {
    const { source, replica, deliver, unrelated, newId } = setUp();
    const id = addBoundary(source, { text: 'Knock first', owner: B, at: T0 }, newId);
    unrelated();
    editBoundary(source, { boundaryId: id, text: 'Knock twice', by: B, at: T0 + 1 });
    deliver(0, 2);
    expect(roots(replica).boundaries.get(id)!.has('text')).toBe(false);
    expect(getBoundary(replica, id)).toBeNull();
    expect(listBoundaries(replica)).toEqual([]);
    deliver(1);
    expect(getBoundary(replica, id)).toMatchObject({ text: 'Knock twice', updatedAt: T0 + 1 });
  });

  it('closing a closed question writes nothing, so it cannot briefly reopen elsewhere', () => {
    const { source, newId } = setUp();
    const id = askQuestion(source, { text: 'Why?', by: A, at: T0 }, newId);
    closeQuestion(source, { questionId: id, by: A, at: T0 + 1 });
    const before = Y.encodeStateVector(source);
    closeQuestion(source, { questionId: id, by: B, at: T0 + 2 });
    expect(Y.encodeStateVector(source)).toEqual(before);
    expect(getQuestion(source, id)).toMatchObject({ status: 'closed', closedBy: A });
  });

  it('a partner whose rename is parked keeps a name, never an empty one', () => {
    const { source, replica, deliver, unrelated } = setUp();
    unrelated();
    setDisplayName(source, { partnerId: A, displayName: 'Alexandra' });
    deliver(1);
    expect(getPartner(replica, A)!.displayName).not.toBe('');
    deliver(0);
    expect(getPartner(replica, A)!.displayName).toBe('Alexandra');
  });
});
