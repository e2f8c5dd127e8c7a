import {
  BreakStatus,
  type BreakSnapshot,
  type RevealSnapshot,
  type ShareSnapshot,
} from '@mend/model';
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
  /** Questions answered together whose answers were revealed that week. */
  revealed: number;
  /** After-a-fight repairs marked done that week. */
  repairsDone: number;
  /** Weekly meetings held (the meeting of that week exists). */
  meetingsHeld: number;
}

type Reveal = Pick<RevealSnapshot, 'revealed' | 'partners'>;

/** When both answers became readable: the later of the two keys' publishing. */
function revealedAt(reveal: Reveal): number | null {
  if (!reveal.revealed) return null;
  return Math.max(...reveal.partners.map((p) => p.answer?.keyPublishedAt ?? 0));
}

/**
 * Answers revealed together, repairs completed and meetings held, per week, for Progress. A
 * reveal counts in the week of the day both answers were out, a repair in the week of the day it
 * was marked done (both on this device's calendar); a meeting in the week holding its Monday.
 */
export function togetherWeeks(
  weeks: readonly Week[],
  reveals: readonly Reveal[],
  repairs: readonly { completed: { at: number } | null }[],
  meetings: readonly { week: string }[],
): TogetherWeek[] {
  const day = (at: number | null | undefined) =>
    at === null || at === undefined ? [] : [localIsoDate(new Date(at))];
  const revealedOn = reveals.flatMap((r) => day(revealedAt(r)));
  const doneOn = repairs.flatMap((r) => day(r.completed?.at));
  return weeks.map((week) => {
    const inWeek = (date: string) => date >= week.from && date <= week.to;
    return {
      ...week,
      revealed: revealedOn.filter(inWeek).length,
      repairsDone: doneOn.filter(inWeek).length,
      meetingsHeld: meetings.filter((m) => inWeek(m.week)).length,
    };
  });
}
