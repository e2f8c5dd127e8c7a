import { BreakLength, type BreakSnapshot, type Feeling } from '@mend/model';
import { formatClock, formatShortDay, localIsoDate } from './time.js';

/** The feelings a share offers, as a person reads them. */
export const feelingLabel: Record<Feeling, string> = {
  sad: 'Sad',
  hurt: 'Hurt',
  afraid: 'Afraid',
  anxious: 'Anxious',
  angry: 'Angry',
  lonely: 'Lonely',
  ashamed: 'Ashamed',
  overwhelmed: 'Overwhelmed',
  numb: 'Numb',
  tired: 'Tired',
  hopeful: 'Hopeful',
  grateful: 'Grateful',
  calm: 'Calm',
};

/** The written parts of a share after the feelings, in FANOS order, with their headings. */
export const shareParts = [
  {
    field: 'affirmation',
    label: 'Affirmation',
    hint: 'One thing {partner} did that you appreciate',
  },
  { field: 'needs', label: 'Needs', hint: 'What you need today' },
  { field: 'ownership', label: 'Ownership', hint: 'Something you own today' },
  {
    field: 'struggles',
    label: 'Struggles or slips',
    hint: 'Told honestly, including sobriety if it applies',
  },
] as const;

export type SharePart = (typeof shareParts)[number]['field'];

export const breakLengths: readonly BreakLength[] = Object.values(BreakLength);

export function breakLengthLabel(minutes: number): string {
  return minutes === 60 ? '1 hour' : `${minutes} minutes`;
}

const MINUTE_MS = 60_000;

/** The return time of a break of `minutes` called at `now`, as the model computes it. */
export function returnTime(now: number, minutes: number): number {
  return now + minutes * MINUTE_MS;
}

/** Whole minutes until `returnAt`, rounded up so "less than a minute" still reads as 1; 0 after. */
export function minutesLeft(returnAt: number, now: number): number {
  return Math.max(0, Math.ceil((returnAt - now) / MINUTE_MS));
}

type OpenBreak = Pick<BreakSnapshot, 'returnAt'>;

/** The return time as a time of day, with its day when that is not today (a break left open). */
export function backAtWords(returnAt: number, now: number): string {
  const day = localIsoDate(new Date(returnAt));
  return day === localIsoDate(new Date(now))
    ? formatClock(returnAt)
    : `${formatClock(returnAt)} on ${formatShortDay(day)}`;
}

/** What the partner of someone on a break reads: calm, with the time they named. */
export function partnerBreakWords(name: string, b: OpenBreak, now: number): string {
  const at = backAtWords(b.returnAt, now);
  return now < b.returnAt
    ? `${name} is taking a break and will be back at ${at}.`
    : `${name} said they would be back at ${at}. They will let you know when they are.`;
}

/** The gentle prompt the caller reads while on their break. */
export function myBreakPrompt(b: OpenBreak, now: number): string {
  const at = backAtWords(b.returnAt, now);
  const left = minutesLeft(b.returnAt, now);
  if (left === 0) {
    return `It is past ${at}, the time you named. Come back when you feel ready; if you need longer, that is all right too.`;
  }
  return `${left === 1 ? 'About a minute' : `About ${left} minutes`} left. Come back at ${at}, or sooner if you feel ready.`;
}

/** The caller's notice on every other screen: where the break stands, without hurrying them. */
export function myBreakNotice(b: OpenBreak, now: number): string {
  const at = backAtWords(b.returnAt, now);
  return now < b.returnAt
    ? `You are on a break until ${at}.`
    : `It is past ${at}, the time you named for your break.`;
}

/** The caller may ask for more time once the time they named has come, not before. */
export function mayTakeMoreTime(b: OpenBreak, now: number): boolean {
  return now >= b.returnAt;
}
