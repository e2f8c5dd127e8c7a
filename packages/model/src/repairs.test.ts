import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { getAgreement } from './agreements.js';
import { ModelErrorCode } from './errors.js';
import type { PartnerId, RepairId } from './ids.js';
import { Origin } from './origin.js';
import {
  completeRepair,
  getRepair,
  listRepairs,
  readRepairFeelingsAnswer,
  repairFeelingsAnswer,
  repairNextTimeToAgreement,
  setRepairNextTime,
  startRepair,
} from './repairs.js';
import { listReveals, publishAnswerKey, submitHiddenAnswer } from './reveals.js';
import { AgreementStatus, Feeling, REPAIR_REVEAL_KIND, RepairStep } from './schema.js';
import {
  A,
  B,
  T0,
  codeOf,
  counterIds,
  originsOf,
  twoPartnerSpace,
  updatesDuring,
} from './testing/fixtures.js';
import { testAnswer } from './testing/reveals.js';

// One generator for the file, so ids never repeat within a document.
const shared = counterIds('repair-test-id-');
const ids = () => shared;

function started(doc = twoPartnerSpace()) {
  const repair = startRepair(doc, { title: 'The dinner', startedBy: A, at: T0 }, ids());
  return { doc, repair, id: repair.id };
}

/** Both partners answer steps one to four (unless done), and (if `reveal`) publish their keys. */
function answerAll(doc: Y.Doc, id: RepairId, reveal = true): void {
  const steps = getRepair(doc, id)!.steps;
  for (const p of steps[0]!.reveal!.bothAnswered ? [] : ([A, B] as PartnerId[])) {
    for (const s of steps) {
      const a = testAnswer(s.revealId, p);
      submitHiddenAnswer(doc, { revealId: s.revealId, partnerId: p, ...a, at: T0 + 10 });
    }
  }
  if (!reveal) return;
  for (const p of [A, B] as PartnerId[]) {
    for (const s of steps) {
      const key = testAnswer(s.revealId, p).key;
      publishAnswerKey(doc, { revealId: s.revealId, partnerId: p, key, at: T0 + 20 });
    }
  }
}

describe('after a fight', () => {
  it('starts a repair with one reveal per step, tagged with the step, in one change', () => {
    const doc = twoPartnerSpace();
    const origins = originsOf(doc, () =>
      startRepair(doc, { title: 'The dinner', startedBy: A, at: T0 }, ids()),
    );
    expect(origins).toEqual([Origin.startRepair]);
    const [repair] = listRepairs(doc);
    expect(repair!.title).toBe('The dinner');
    expect(repair!.steps.map((s) => s.step)).toEqual(Object.values(RepairStep));
    expect(repair!.steps.map((s) => s.reveal?.kind)).toEqual(Object.values(REPAIR_REVEAL_KIND));
    expect(listReveals(doc)).toHaveLength(4);
    expect(repair!.stepsAnswered).toBe(false);
    expect(repair!.nextTime.map((p) => p.current)).toEqual([null, null]);
    expect(repair!.canComplete).toBe(false);
    expect(repair!.completed).toBeNull();
  });

  it('refuses a bad start and writes nothing', () => {
    const doc = twoPartnerSpace();
    for (const input of [
      { title: '  ', startedBy: A, at: T0 },
      { title: 'x'.repeat(201), startedBy: A, at: T0 },
      { title: 'The dinner', startedBy: 'nobodyXXXXXXXXXXXXXX' as PartnerId, at: T0 },
      { title: 'The dinner', startedBy: A, at: -1 },
    ]) {
      expect(updatesDuring(doc, () => startRepair(doc, input, ids()))).toEqual([]);
      expect(codeOf(() => startRepair(doc, input, ids()))).not.toBe('no error');
    }
    startRepair(doc, { id: 'repairXXXXXXXXXXXXXX' as RepairId, title: 'a', startedBy: A, at: T0 });
    expect(
      codeOf(() =>
        startRepair(doc, {
          id: 'repairXXXXXXXXXXXXXX' as RepairId,
          title: 'b',
          startedBy: B,
          at: T0,
        }),
      ),
    ).toBe(ModelErrorCode.duplicateId);
  });

  it('steps one to four follow the reveals: answered, then revealed', () => {
    const { doc, id } = started();
    answerAll(doc, id, false);
    expect(getRepair(doc, id)!.stepsAnswered).toBe(true);
    expect(getRepair(doc, id)!.stepsRevealed).toBe(false);
    answerAll(doc, id);
    expect(getRepair(doc, id)!.stepsRevealed).toBe(true);
  });

  it('step five is each partner’s own, latest version current, unchanged text writes nothing', () => {
    const { doc, id } = started();
    setRepairNextTime(doc, { repairId: id, partnerId: A, text: 'Pause first', at: T0 + 1 }, ids());
    expect(
      updatesDuring(doc, () =>
        setRepairNextTime(doc, { repairId: id, partnerId: A, text: 'Pause first', at: T0 + 2 }),
      ),
    ).toEqual([]);
    setRepairNextTime(doc, { repairId: id, partnerId: A, text: 'Ask first', at: T0 + 3 }, ids());
    const r = getRepair(doc, id)!;
    expect(r.nextTime.find((p) => p.partnerId === A)!.current!.text).toBe('Ask first');
    expect(r.nextTime.find((p) => p.partnerId === B)!.current).toBeNull();
    expect(
      codeOf(() => setRepairNextTime(doc, { repairId: id, partnerId: B, text: '', at: T0 })),
    ).toBe(ModelErrorCode.invalidArgument);
    expect(
      codeOf(() =>
        setRepairNextTime(doc, { repairId: id, partnerId: B, text: 'x'.repeat(201), at: T0 }),
      ),
    ).toBe(ModelErrorCode.invalidArgument);
  });

  it('completes only once all four are revealed and both wrote step five; then nothing changes', () => {
    const { doc, id } = started();
    const complete = () => completeRepair(doc, { repairId: id, by: B, at: T0 + 100 });
    expect(codeOf(complete)).toBe(ModelErrorCode.notAllowed);
    answerAll(doc, id);
    setRepairNextTime(doc, { repairId: id, partnerId: A, text: 'Pause first', at: T0 + 30 }, ids());
    expect(codeOf(complete)).toBe(ModelErrorCode.notAllowed);
    setRepairNextTime(doc, { repairId: id, partnerId: B, text: 'Say so', at: T0 + 31 }, ids());
    expect(getRepair(doc, id)!.canComplete).toBe(true);
    expect(originsOf(doc, complete)).toEqual([Origin.completeRepair]);
    const done = getRepair(doc, id)!;
    expect(done.completed).toEqual({ by: B, at: T0 + 100 });
    expect(done.canComplete).toBe(false);
    expect(codeOf(complete)).toBe(ModelErrorCode.notAllowed);
    const edit = () =>
      setRepairNextTime(doc, { repairId: id, partnerId: A, text: 'Other', at: T0 + 200 });
    expect(codeOf(edit)).toBe(ModelErrorCode.notAllowed);
    expect(updatesDuring(doc, edit)).toEqual([]);
  });

  it('a completed repair shows the step five it was completed with, whatever comes later', () => {
    const { doc, id } = started();
    answerAll(doc, id);
    setRepairNextTime(doc, { repairId: id, partnerId: A, text: 'Pause first', at: T0 + 30 }, ids());
    setRepairNextTime(doc, { repairId: id, partnerId: B, text: 'Say so', at: T0 + 31 }, ids());
    completeRepair(doc, { repairId: id, by: A, at: T0 + 40 });
    // A device of B's that had not heard of the completion appends a later version.
    const versions = doc.getMap('repairs').get(id) as Y.Map<unknown>;
    (versions.get('nextTime') as Y.Array<unknown>).push([
      { id: 'lateXXXXXXXXXXXXXXXX', by: B, text: 'Later words', at: T0 + 41 },
    ]);
    const r = getRepair(doc, id)!;
    expect(r.nextTime.map((p) => p.current?.text)).toEqual(['Pause first', 'Say so']);
  });

  it('step five becomes a draft agreement once, in one change, linked to the repair', () => {
    const { doc, id } = started();
    const toAgreement = () =>
      repairNextTimeToAgreement(doc, { repairId: id, partnerId: A, at: T0 + 5 }, ids());
    expect(codeOf(toAgreement)).toBe(ModelErrorCode.notAllowed);
    setRepairNextTime(doc, { repairId: id, partnerId: A, text: 'Pause first', at: T0 + 1 }, ids());
    let agreementId = '';
    expect(originsOf(doc, () => (agreementId = toAgreement()))).toEqual([
      Origin.repairNextTimeToAgreement,
    ]);
    const agreement = getAgreement(doc, agreementId as never)!;
    expect(agreement.title).toBe('Pause first');
    expect(agreement.proposedBy).toBe(A);
    expect(agreement.status).toBe(AgreementStatus.proposed);
    expect(getRepair(doc, id)!.nextTime.find((p) => p.partnerId === A)!.agreementId).toBe(
      agreementId,
    );
    // Again: the same agreement, nothing written.
    expect(updatesDuring(doc, () => expect(toAgreement()).toBe(agreementId))).toEqual([]);
  });

  it('lists repairs newest first', () => {
    const doc = twoPartnerSpace();
    const gen = ids();
    startRepair(doc, { title: 'First', startedBy: A, at: T0 }, gen);
    startRepair(doc, { title: 'Second', startedBy: B, at: T0 + 5 }, gen);
    expect(listRepairs(doc).map((r) => r.title)).toEqual(['Second', 'First']);
  });

  it("step one's answer carries feelings from the list and words", () => {
    const text = repairFeelingsAnswer({ feelings: [Feeling.tired, Feeling.hurt], words: 'both' });
    expect(readRepairFeelingsAnswer(text)).toEqual({
      feelings: [Feeling.hurt, Feeling.tired],
      words: 'both',
    });
    expect(codeOf(() => repairFeelingsAnswer({ feelings: [], words: ' ' }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(codeOf(() => repairFeelingsAnswer({ feelings: ['bored' as Feeling], words: 'x' }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(readRepairFeelingsAnswer('not json')).toBeNull();
  });
});
