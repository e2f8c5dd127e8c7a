import {
  listRepairs,
  readRepairFeelingsAnswer,
  type RepairStep,
  roots,
  type PartnerId,
  type RepairSnapshot,
  type RepairStepView,
} from '@mend/model';
import type * as Y from 'yjs';
import { feelingLabel } from './practices.js';
import { hasAnswered } from './reveals.js';
import { YView } from './sync/YView.svelte.js';

/*
 * "After a fight": a guided repair, its steps one to four answered together (reveals), step five
 * written openly. Loaded with its screens, never on first load.
 */

/** Each step's short name, in order: the heading over its prompt. */
export const repairStepTitle: Record<RepairStep, string> = {
  feelings: 'What I felt',
  reality: 'My reality',
  triggered: 'What it triggered',
  owned: 'What I own',
};

/** The space's repairs, the most recent first; they read their steps' reveals too. */
export function repairsView(doc: Y.Doc): YView<RepairSnapshot[]> {
  return new YView([roots(doc).repairs, roots(doc).reveals], () => {
    try {
      return listRepairs(doc);
    } catch {
      // A space not set up yet on this device reads as no repairs.
      return [];
    }
  });
}

/**
 * The steps this partner can answer or read now: one after another, each opening once they have
 * answered the one before (not waiting for their partner, who may answer tomorrow).
 */
export function openSteps(repair: RepairSnapshot, me: PartnerId): RepairStepView[] {
  const open: RepairStepView[] = [];
  for (const step of repair.steps) {
    open.push(step);
    if (!step.reveal || !hasAnswered(step.reveal, me)) break;
  }
  return open;
}

/** A repair's step that waits for this partner's answer, and its number (1 to 4). */
export interface StepWaiting {
  readonly repair: RepairSnapshot;
  readonly step: RepairStep;
  readonly number: number;
}

/**
 * For Today: each repair not done yet whose next step waits for this partner's answer, with that
 * step (steps open one after another, so it is the first they have not answered), in the order
 * of `repairs` (the most recent first).
 */
export function stepsWaitingForMe(
  repairs: readonly RepairSnapshot[],
  me: PartnerId,
): StepWaiting[] {
  return repairs.flatMap((repair) => {
    if (repair.completed) return [];
    const i = repair.steps.findIndex((s) => s.reveal && !hasAnswered(s.reveal, me));
    const step = repair.steps[i];
    return step ? [{ repair, step: step.step, number: i + 1 }] : [];
  });
}

/** Steps of the repair still waiting for this partner's answer. */
export function stepsToAnswer(repair: RepairSnapshot, me: PartnerId): number {
  return repair.steps.filter((s) => s.reveal && !hasAnswered(s.reveal, me)).length;
}

/** Where a repair stands, in one plain sentence for this partner. */
export function repairStatusWords(
  repair: RepairSnapshot,
  me: PartnerId,
  partnerName: string,
): string {
  if (repair.completed) return 'Done.';
  const left = stepsToAnswer(repair, me);
  if (left > 0)
    return left === 1 ? 'One step waits for your answer.' : `${left} steps wait for your answer.`;
  if (!repair.stepsRevealed) return `You have answered every step; waiting for ${partnerName}.`;
  const mine = repair.nextTime.find((p) => p.partnerId === me);
  if (!mine?.current)
    return 'Both answers are here. Write what you would do differently next time.';
  return repair.canComplete ? 'Ready to mark done.' : `Waiting for ${partnerName}’s step five.`;
}

/** An opened step-one answer as it reads: the feelings chosen, then the words. */
export function feelingsWords(text: string): { feelings: string; words: string } {
  const answer = readRepairFeelingsAnswer(text);
  if (!answer) return { feelings: '', words: text };
  return {
    feelings: answer.feelings.map((f) => feelingLabel[f]).join(', '),
    words: answer.words,
  };
}
