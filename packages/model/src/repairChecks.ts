import type { PartnerId } from './ids.js';
import { isWeekStart, isWeekday } from './meetings.js';
import type { RecordView } from './ruleSpecs.js';
import { Limits, RepairStep } from './schema.js';
import { checkRecord, epoch, id, parseDayKey, textOf, type LeafContext } from './valueChecks.js';

// The value checks and requirements of repairs and weekly meetings in the authorship rule table
// (authorshipRules.ts).

const STEPS = Object.values(RepairStep);

/** The four reveals of a repair's steps one to four, by step. */
export const repairSteps = (v: unknown): string | null =>
  checkRecord(v, Object.fromEntries(STEPS.map((s) => [s, id])), 'the reveals of steps 1-4');

/** A version of a partner's step five. */
export const nextTimeVersion = (v: unknown): string | null =>
  checkRecord(
    v,
    { id, by: id, text: textOf(1, Limits.repairNextTime), at: epoch },
    'a step five { id, by, text, at }',
  );

export const repairDraft = (v: unknown): string | null =>
  checkRecord(v, { agreementId: id, at: epoch }, 'a draft agreement { agreementId, at }');

/** A completion names the step-five versions (one a partner) it was completed with. */
export const repairCompletion = (v: unknown): string | null =>
  checkRecord(
    v,
    {
      by: id,
      at: epoch,
      nextTime: (n) =>
        Array.isArray(n) && n.length <= 2 && n.every((i) => id(i) === null) ? null : 'ids',
    },
    'a completion { by, at, nextTime }',
  );

export const meetingDay = (v: unknown): string | null =>
  checkRecord(
    v,
    { weekday: (w) => (w === null || isWeekday(w) ? null : 'a weekday'), by: id, at: epoch },
    'a meeting day { weekday, by, at }',
  );

/** A meeting part's week: its key's, and a Monday. */
export const meetingWeek = (v: unknown, c: LeafContext): string | null =>
  c.recordKey !== null && parseDayKey(c.recordKey)?.date === v && isWeekStart(v)
    ? null
    : "the Monday of the record's key";

export const appreciation = (v: unknown): string | null =>
  checkRecord(
    v,
    { id, by: id, text: textOf(1, Limits.meetingText), at: epoch },
    'an appreciation { id, by, text, at }',
  );

export const wentWell = (v: unknown): string | null =>
  checkRecord(v, { text: textOf(0, Limits.meetingText), at: epoch }, 'what went well { text, at }');

export const meetingIssueLink = (v: unknown, c: LeafContext): string | null => {
  const shape = checkRecord(
    v,
    { repairId: id, week: (w) => (isWeekStart(w) ? null : 'a week'), by: id, at: epoch },
    'an issue { repairId, week, by, at }',
  );
  if (shape !== null) return shape;
  return c.recordKey !== null && parseDayKey(c.recordKey)?.date === (v as { week: string }).week
    ? null
    : "an issue of the record's week";
};

/**
 * One issue a meeting: no other partner's part of the week holds one. Read on the meetings as
 * they are once the update is in.
 */
export function onlyIssueOfTheWeek(
  value: unknown,
  meetings: RecordView,
  author: PartnerId,
): string | null {
  const week = (value as { week: string }).week;
  const taken = meetings.keys([]).some((key) => {
    const parsed = parseDayKey(key);
    return (
      parsed?.date === week &&
      parsed.partnerId !== author &&
      meetings.value([key, 'issue']) !== undefined
    );
  });
  return taken ? "the meeting's only issue" : null;
}
