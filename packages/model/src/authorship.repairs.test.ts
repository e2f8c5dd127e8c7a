/**
 * SPEC.md "Authorship" for repairs and weekly meetings (README.md, "Who owns what"). Partner A's
 * forging device writes on the sequenced log; both checkers judge.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RepairId } from './ids.js';
import {
  addAppreciation,
  meetingIssue,
  meetingKey,
  setMeetingDay,
  setWentWell,
  startMeeting,
} from './meetings.js';
import {
  completeRepair,
  repairNextTimeToAgreement,
  setRepairNextTime,
  startRepair,
} from './repairs.js';
import { publishAnswerKey, submitHiddenAnswer } from './reveals.js';
import { roots } from './store.js';
import { A, B, T0 } from './testing/fixtures.js';
import { testAnswer } from './testing/reveals.js';
import { SealedRun } from './testing/sealedRun.js';
import { accepted, forged, refusedAs } from './testing/verdicts.js';

const WEEK = '2026-10-26';

/** B started a repair and both wrote step five. */
function withRepair(complete = false) {
  const run = new SealedRun();
  const [a1, b1] = [run.device('a1'), run.device('b1')];
  let id = '' as RepairId;
  run.write(b1, (doc) => {
    id = startRepair(doc, { title: 'The dinner', startedBy: B, at: T0 }, b1.newId).id;
    setRepairNextTime(doc, { repairId: id, partnerId: B, text: 'Say so', at: T0 }, b1.newId);
  });
  run.write(a1, (doc) => {
    setRepairNextTime(doc, { repairId: id, partnerId: A, text: 'Pause', at: T0 }, a1.newId);
  });
  if (complete) {
    for (const d of [a1, b1]) {
      run.write(d, (doc) => {
        const steps = Object.values(
          roots(doc).repairs.get(id)!.get('steps') as Record<string, string>,
        );
        for (const revealId of steps) {
          const a = testAnswer(revealId as never, d.partnerId);
          submitHiddenAnswer(doc, {
            revealId: revealId as never,
            partnerId: d.partnerId,
            ...a,
            at: T0,
          });
        }
      });
    }
    for (const d of [a1, b1]) {
      run.write(d, (doc) => {
        const steps = Object.values(
          roots(doc).repairs.get(id)!.get('steps') as Record<string, string>,
        );
        for (const revealId of steps) {
          const key = testAnswer(revealId as never, d.partnerId).key;
          publishAnswerKey(doc, {
            revealId: revealId as never,
            partnerId: d.partnerId,
            key,
            at: T0,
          });
        }
      });
    }
    run.write(b1, (doc) => completeRepair(doc, { repairId: id, by: B, at: T0 + 5 }));
  }
  return { run, id, a1, b1 };
}

const repair = (doc: Y.Doc, id: RepairId) => roots(doc).repairs.get(id)!;
const versions = (doc: Y.Doc, id: RepairId) => repair(doc, id).get('nextTime') as Y.Array<unknown>;

describe('after a fight', () => {
  it('accepts honest writes: a repair, step five, a draft agreement, completion', () => {
    const { run, id } = withRepair(true);
    expect(run.log.filter((e) => !e.verdict.ok || !e.oracle.ok)).toEqual([]);
    expect(
      forged(run, (doc) => repairNextTimeToAgreement(doc, { repairId: id, partnerId: A, at: T0 })),
    ).toEqual(accepted);
  });

  it("refuses step five written in the other partner's name, or changed or removed", () => {
    const { run, id } = withRepair();
    expect(
      forged(run, (doc) =>
        versions(doc, id).push([{ id: 'forgedXXXXXXXXXXXXXX', by: B, text: 'Mine', at: T0 }]),
      ),
    ).toEqual(refusedAs('others-content'));
    expect(forged(run, (doc) => versions(doc, id).delete(0, 1))).toEqual(refusedAs('append-only'));
    expect(forged(run, (doc) => versions(doc, id).delete(1, 1))).toEqual(refusedAs('append-only'));
  });

  it('refuses changing what is set once: the title, the steps, a draft link, the completion', () => {
    const { run, id } = withRepair(true);
    expect(forged(run, (doc) => repair(doc, id).set('title', 'Other'))).toEqual(
      refusedAs('immutable'),
    );
    expect(
      forged(run, (doc) => repair(doc, id).set('completed', { by: A, at: T0 + 9, nextTime: [] })),
    ).toEqual(refusedAs('immutable'));
    expect(forged(run, (doc) => repair(doc, id).delete('completed'))).toEqual(
      refusedAs('immutable'),
    );
    run.write(run.device('a1'), (doc) =>
      repairNextTimeToAgreement(
        doc,
        { repairId: id, partnerId: A, at: T0 },
        run.device('a1').newId,
      ),
    );
    const drafts = (doc: Y.Doc) => repair(doc, id).get('drafts') as Y.Map<unknown>;
    expect(
      forged(run, (doc) => drafts(doc).set(A, { agreementId: 'otherXXXXXXXXXXXXXXX', at: T0 })),
    ).toEqual(refusedAs('immutable'));
    expect(
      forged(run, (doc) => drafts(doc).set(B, { agreementId: 'otherXXXXXXXXXXXXXXX', at: T0 })),
    ).toEqual(refusedAs('others-content'));
  });

  it("refuses a completion in the other partner's name", () => {
    const { run, id } = withRepair();
    expect(
      forged(run, (doc) => repair(doc, id).set('completed', { by: B, at: T0, nextTime: [] })),
    ).toEqual(refusedAs('others-content'));
  });
});

describe('weekly meetings', () => {
  /** B started the week's meeting, appreciated once and wrote what went well. */
  function withMeeting() {
    const run = new SealedRun();
    const b1 = run.device('b1');
    run.write(b1, (doc) => {
      startMeeting(doc, { week: WEEK, startedBy: B, at: T0 });
      addAppreciation(doc, { week: WEEK, partnerId: B, text: 'You listened', at: T0 }, b1.newId);
      setWentWell(doc, { week: WEEK, partnerId: B, text: 'The walk', at: T0 });
    });
    return { run, b1, part: (doc: Y.Doc) => roots(doc).meetings.get(meetingKey(WEEK, B))! };
  }

  it('accepts honest writes of both partners', () => {
    const { run } = withMeeting();
    expect(
      forged(run, (doc) => {
        addAppreciation(
          doc,
          { week: WEEK, partnerId: A, text: 'You came', at: T0 },
          () => 'appreciationXXXXXXXX',
        );
        setWentWell(doc, { week: WEEK, partnerId: A, text: 'Dinner', at: T0 });
        setMeetingDay(doc, { weekday: 0, by: A, at: T0 });
      }),
    ).toEqual(accepted);
  });

  it("refuses writing the other partner's appreciations or what went well, or removing any", () => {
    const { run, part } = withMeeting();
    const list = (doc: Y.Doc) => part(doc).get('appreciations') as Y.Array<unknown>;
    expect(
      forged(run, (doc) =>
        list(doc).push([{ id: 'forgedXXXXXXXXXXXXXX', by: B, text: 'Forged', at: T0 }]),
      ),
    ).toEqual(refusedAs('others-content'));
    expect(forged(run, (doc) => list(doc).delete(0, 1))).toEqual(refusedAs('append-only'));
    expect(forged(run, (doc) => part(doc).set('wentWell', { text: 'No', at: T0 }))).toEqual(
      refusedAs('others-content'),
    );
    expect(forged(run, (doc) => roots(doc).meetings.delete(meetingKey(WEEK, B)))).toEqual(
      refusedAs('others-content'),
    );
    // A's own part: appreciations in B's name, or removed, are refused too.
    run.write(run.device('a1'), (doc) =>
      addAppreciation(
        doc,
        { week: WEEK, partnerId: A, text: 'Mine', at: T0 },
        run.device('a1').newId,
      ),
    );
    const own = (doc: Y.Doc) =>
      roots(doc).meetings.get(meetingKey(WEEK, A))!.get('appreciations') as Y.Array<unknown>;
    expect(forged(run, (doc) => own(doc).delete(0, 1))).toEqual(refusedAs('append-only'));
    expect(
      forged(run, (doc) =>
        own(doc).push([{ id: 'forgedXXXXXXXXXXXXXX', by: B, text: 'Forged', at: T0 }]),
      ),
    ).toEqual(refusedAs('others-content'));
  });

  it('refuses a second issue, a changed one, and a meeting day in the other’s name', () => {
    const { run } = withMeeting();
    const b1 = run.device('b1');
    let first = '' as RepairId;
    let second = '' as RepairId;
    run.write(b1, (doc) => {
      first = startRepair(doc, { title: 'Phone', startedBy: B, at: T0 }, b1.newId).id;
      second = startRepair(doc, { title: 'Money', startedBy: B, at: T0 }, b1.newId).id;
      meetingIssue(doc, { week: WEEK, repairId: first, by: B, at: T0 });
    });
    const link = (repairId: RepairId) => ({ repairId, week: WEEK, by: A, at: T0 });
    // A second issue, in A's own part: refused as the meeting has one.
    expect(
      forged(run, (doc) => {
        startMeeting(doc, { week: WEEK, startedBy: A, at: T0 });
        const meetings = roots(doc).meetings;
        const part = new Y.Map<unknown>();
        part.set('week', WEEK);
        part.set('partnerId', A);
        part.set('startedAt', T0);
        part.set('appreciations', new Y.Array());
        part.set('issue', link(second));
        meetings.set(meetingKey(WEEK, A), part);
      }),
    ).toEqual(refusedAs('precondition'));
    const bPart = (doc: Y.Doc) => roots(doc).meetings.get(meetingKey(WEEK, B))!;
    expect(forged(run, (doc) => bPart(doc).set('issue', link(second)))).toEqual(
      refusedAs('others-content'),
    );
    expect(
      forged(run, (doc) => roots(doc).space.set('meetingDay', { weekday: 2, by: B, at: T0 })),
    ).toEqual(refusedAs('others-content'));
    expect(
      forged(run, (doc) => roots(doc).space.set('meetingDay', { weekday: 9, by: A, at: T0 })),
    ).toEqual(refusedAs('schema'));
  });

  it('refuses a part under the wrong key or week', () => {
    const { run } = withMeeting();
    expect(
      forged(run, (doc) => {
        const part = new Y.Map<unknown>();
        part.set('week', '2026-10-27');
        part.set('partnerId', A);
        part.set('startedAt', T0);
        part.set('appreciations', new Y.Array());
        roots(doc).meetings.set(meetingKey('2026-10-27', A), part);
      }),
    ).toEqual(refusedAs('schema'));
  });
});
