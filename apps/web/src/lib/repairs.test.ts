import {
  completeRepair,
  getRepair,
  repairFeelingsAnswer,
  setRepairNextTime,
  startRepair,
  type PartnerId,
  type RepairId,
  type RevealId,
} from '@mend/model';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { revealsView } from './reveals.js';
import {
  feelingsWords,
  openSteps,
  repairStatusWords,
  repairsView,
  stepsToAnswer,
  stepsWaitingForMe,
} from './repairs.js';
import { ALEX, answerHidden, pairSpace, publishKey, SAM } from './testPair.js';

const T0 = Date.UTC(2026, 10, 1, 21, 0);
const space = () => pairSpace(T0);
const answer = (doc: Y.Doc, revealId: RevealId, by: PartnerId) =>
  answerHidden(doc, revealId, by, T0);
const stepIds = (doc: Y.Doc, id: RepairId) => getRepair(doc, id)!.steps.map((s) => s.revealId);

describe('after a fight, as the screens read it', () => {
  it('opens the steps one after another as this partner answers, without waiting for the other', () => {
    const doc = space();
    const { id } = startRepair(doc, { title: 'Sunday', startedBy: ALEX, at: T0 });
    const open = (me: PartnerId) => openSteps(getRepair(doc, id)!, me).map((s) => s.step);
    expect(open(ALEX)).toEqual(['feelings']);
    const [one, two] = stepIds(doc, id);
    answer(doc, one!, ALEX);
    expect(open(ALEX)).toEqual(['feelings', 'reality']);
    expect(open(SAM)).toEqual(['feelings']);
    answer(doc, two!, ALEX);
    expect(open(ALEX)).toEqual(['feelings', 'reality', 'triggered']);
    expect(stepsToAnswer(getRepair(doc, id)!, ALEX)).toBe(2);
    expect(stepsToAnswer(getRepair(doc, id)!, SAM)).toBe(4);
  });

  it('says where a repair stands, from the steps to marking it done', () => {
    const doc = space();
    const { id } = startRepair(doc, { title: 'Sunday', startedBy: ALEX, at: T0 });
    const words = (me: PartnerId) => repairStatusWords(getRepair(doc, id)!, me, 'Sam');
    expect(words(ALEX)).toBe('4 steps wait for your answer.');
    const steps = stepIds(doc, id);
    for (const s of steps.slice(0, 3)) answer(doc, s, ALEX);
    expect(words(ALEX)).toBe('One step waits for your answer.');
    answer(doc, steps[3]!, ALEX);
    expect(words(ALEX)).toBe('You have answered every step; waiting for Sam.');
    for (const s of steps) {
      answer(doc, s, SAM);
      for (const by of [ALEX, SAM]) {
        publishKey(doc, s, by, T0);
      }
    }
    expect(words(ALEX)).toBe(
      'Both answers are here. Write what you would do differently next time.',
    );
    setRepairNextTime(doc, { repairId: id, partnerId: ALEX, text: 'Ask first.', at: T0 });
    expect(words(ALEX)).toBe('Waiting for Sam’s step five.');
    setRepairNextTime(doc, { repairId: id, partnerId: SAM, text: 'Phone away.', at: T0 });
    expect(words(ALEX)).toBe('Ready to mark done.');
    completeRepair(doc, { repairId: id, by: SAM, at: T0 });
    expect(words(ALEX)).toBe('Done.');
  });

  it('reads step one as the feelings chosen, in the list’s order, and the words, and any other text as words', () => {
    const text = repairFeelingsAnswer({ feelings: ['afraid', 'hurt'], words: 'Shut out.' });
    expect(feelingsWords(text)).toEqual({ feelings: 'Hurt, Afraid', words: 'Shut out.' });
    expect(feelingsWords('Just words')).toEqual({ feelings: '', words: 'Just words' });
  });

  it('lists repairs most recent first, and keeps their steps out of the questions answered together', () => {
    const doc = space();
    const first = startRepair(doc, { title: 'First', startedBy: ALEX, at: T0 });
    const second = startRepair(doc, { title: 'Second', startedBy: SAM, at: T0 + 1000 });
    expect(repairsView(doc).current.map((r) => r.id)).toEqual([second.id, first.id]);
    expect(revealsView(doc).current).toEqual([]);
    expect(repairsView(new Y.Doc()).current).toEqual([]);
  });

  it('tells Today which step of each unfinished repair waits for this partner, and none once answered or done', () => {
    const doc = space();
    const older = startRepair(doc, { title: 'Sunday', startedBy: ALEX, at: T0 });
    const newer = startRepair(doc, { title: 'Tuesday', startedBy: SAM, at: T0 + 1000 });
    const waiting = (me: PartnerId) =>
      stepsWaitingForMe(repairsView(doc).current, me).map((w) => [
        w.repair.title,
        w.number,
        w.step,
      ]);
    expect(waiting(SAM)).toEqual([
      ['Tuesday', 1, 'feelings'],
      ['Sunday', 1, 'feelings'],
    ]);
    const steps = stepIds(doc, older.id);
    answer(doc, steps[0]!, SAM);
    answer(doc, steps[1]!, SAM);
    // Alex answering does not move Sam along: the step still waits for Sam's own answer.
    answer(doc, steps[2]!, ALEX);
    expect(waiting(SAM)).toEqual([
      ['Tuesday', 1, 'feelings'],
      ['Sunday', 3, 'triggered'],
    ]);
    for (const s of stepIds(doc, newer.id)) answer(doc, s, SAM);
    answer(doc, steps[2]!, SAM);
    answer(doc, steps[3]!, SAM);
    expect(waiting(SAM)).toEqual([]);
    expect(waiting(ALEX).map(([title, n]) => [title, n])).toEqual([
      ['Tuesday', 1],
      ['Sunday', 1],
    ]);
    // A repair marked done asks nothing more of anyone.
    for (const s of steps) {
      if (s !== steps[2]) answer(doc, s, ALEX);
      for (const by of [ALEX, SAM]) publishKey(doc, s, by, T0);
    }
    setRepairNextTime(doc, { repairId: older.id, partnerId: ALEX, text: 'Ask.', at: T0 });
    setRepairNextTime(doc, { repairId: older.id, partnerId: SAM, text: 'Wait.', at: T0 });
    completeRepair(doc, { repairId: older.id, by: SAM, at: T0 });
    expect(waiting(ALEX).map(([title]) => title)).toEqual(['Tuesday']);
  });
});
