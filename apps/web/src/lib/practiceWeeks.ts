import { BreakStatus, type BreakSnapshot, type ShareSnapshot } from '@mend/model';
import type { Week } from './chartWeeks.js';
import { localIsoDate } from './time.js';

/** One partner's practices in one week. */
export interface PracticeCounts {
  /** Daily shares written. */
  shares: number;
  /** Of those, shares the other partner marked "I heard you". */
  heard: number;
  breaksCalled: number;
  /** Breaks the caller came back from (on time or early). */
  cameBack: number;
}

export interface PracticeWeek extends Week {
  /** Per partner id; a partner with nothing that week counts zeros. */
  byPartner: Record<string, PracticeCounts>;
}

type Share = Pick<ShareSnapshot, 'partnerId' | 'date' | 'heard'>;
type Break = Pick<BreakSnapshot, 'by' | 'date' | 'status'>;

/**
 * Shares and breaks counted per week and partner, for Progress. A share counts in the week of
 * its day, a break in the week of the day it was called (both the author's own calendar day).
 */
export function practiceWeeks(
  weeks: readonly Week[],
  partnerIds: readonly string[],
  shares: readonly Share[],
  breaks: readonly Break[],
): PracticeWeek[] {
  return weeks.map((week) => {
    const inWeek = (date: string) => date >= week.from && date <= week.to;
    const byPartner: Record<string, PracticeCounts> = {};
    for (const id of partnerIds) {
      const mine = shares.filter((s) => s.partnerId === id && inWeek(s.date));
      const called = breaks.filter((b) => b.by === id && inWeek(b.date));
      byPartner[id] = {
        shares: mine.length,
        heard: mine.filter((s) => s.heard !== null).length,
        breaksCalled: called.length,
        cameBack: called.filter(
          (b) => b.status === BreakStatus.returned || b.status === BreakStatus.endedEarly,
        ).length,
      };
    }
    return { ...week, byPartner };
  });
}

/** What the two of them did together in one week. */
export interface TogetherWeek extends Week {
  /** After-a-fight repairs marked done that week. */
  repairsDone: number;
  /** Weekly meetings held (the meeting of that week exists). */
  meetingsHeld: number;
}

/**
 * Repairs completed and meetings held, per week, for Progress. A repair counts in the week of
 * the day it was marked done on this device's calendar; a meeting in the week holding its Monday.
 */
export function togetherWeeks(
  weeks: readonly Week[],
  repairs: readonly { completed: { at: number } | null }[],
  meetings: readonly { week: string }[],
): TogetherWeek[] {
  const doneOn = repairs.flatMap((r) =>
    r.completed ? [localIsoDate(new Date(r.completed.at))] : [],
  );
  return weeks.map((week) => {
    const inWeek = (date: string) => date >= week.from && date <= week.to;
    return {
      ...week,
      repairsDone: doneOn.filter(inWeek).length,
      meetingsHeld: meetings.filter((m) => inWeek(m.week)).length,
    };
  });
}
