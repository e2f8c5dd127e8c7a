import { describe, expect, it } from 'vitest';
import {
  backAtWords,
  breakLengthLabel,
  breakLengths,
  mayTakeMoreTime,
  minutesLeft,
  myBreakNotice,
  myBreakPrompt,
  partnerBreakWords,
  returnTime,
} from './practices.js';
import { formatClock, formatShortDay, localIsoDate } from './time.js';

const now = Date.UTC(2026, 10, 26, 21, 20);
const MINUTE = 60_000;

describe('the words around a break', () => {
  it('offers the lengths the model takes, an hour written as one', () => {
    expect(breakLengths).toEqual([10, 20, 30, 60]);
    expect(breakLengths.map(breakLengthLabel)).toEqual([
      '10 minutes',
      '20 minutes',
      '30 minutes',
      '1 hour',
    ]);
  });

  it('names the return time as the call plus the length', () => {
    expect(returnTime(now, 20)).toBe(now + 20 * MINUTE);
  });

  it('counts the minutes left up, so the last seconds still read as a minute, and none after', () => {
    expect(minutesLeft(now + 20 * MINUTE, now)).toBe(20);
    expect(minutesLeft(now + 30_000, now)).toBe(1);
    expect(minutesLeft(now - MINUTE, now)).toBe(0);
  });

  it('tells the partner when the caller will be back, and after that time that they will say so', () => {
    const b = { returnAt: now + 20 * MINUTE };
    const at = formatClock(b.returnAt);
    expect(partnerBreakWords('Sam', b, now)).toBe(
      `Sam is taking a break and will be back at ${at}.`,
    );
    expect(partnerBreakWords('Sam', b, b.returnAt)).toBe(
      `Sam said they would be back at ${at}. They will let you know when they are.`,
    );
  });

  it('prompts the caller gently: the time left, then that it is time, never a demand', () => {
    const b = { returnAt: now + 20 * MINUTE };
    expect(myBreakPrompt(b, now)).toMatch(/^About 20 minutes left\. Come back at .+, or sooner/);
    expect(myBreakPrompt(b, b.returnAt - 10_000)).toMatch(/^About a minute left/);
    expect(myBreakPrompt(b, b.returnAt)).toMatch(
      /^It is past .+, the time you named\. Come back when you feel ready; if you need longer, that is all right too\.$/,
    );
  });

  it('offers more time only once the named time has come, and then says so on every screen', () => {
    const b = { returnAt: now + 20 * MINUTE };
    expect(mayTakeMoreTime(b, b.returnAt - 1)).toBe(false);
    expect(mayTakeMoreTime(b, b.returnAt)).toBe(true);
    const at = formatClock(b.returnAt);
    expect(myBreakNotice(b, now)).toBe(`You are on a break until ${at}.`);
    expect(myBreakNotice(b, b.returnAt + MINUTE)).toBe(
      `It is past ${at}, the time you named for your break.`,
    );
  });

  it('names the day with the return time once that day is over, so a break left open does not read as tonight', () => {
    const b = { returnAt: now + 20 * MINUTE };
    const nextDay = b.returnAt + 24 * 60 * MINUTE;
    const day = formatShortDay(localIsoDate(new Date(b.returnAt)));
    expect(backAtWords(b.returnAt, b.returnAt + MINUTE)).toBe(formatClock(b.returnAt));
    expect(backAtWords(b.returnAt, nextDay)).toBe(`${formatClock(b.returnAt)} on ${day}`);
    expect(partnerBreakWords('Sam', b, nextDay)).toBe(
      `Sam said they would be back at ${formatClock(b.returnAt)} on ${day}. They will let you know when they are.`,
    );
  });
});
