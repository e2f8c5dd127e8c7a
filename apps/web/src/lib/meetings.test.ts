import { setMeetingDay, startMeeting, weekOf, type IsoDate } from '@mend/model';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { meetingDayWords, meetingDueView, meetingsView, weekdayNames } from './meetings.js';
import { ALEX, pairSpace, SAM } from './testPair.js';

// A Wednesday, at noon.
const WEDNESDAY = '2026-11-04' as IsoDate;
const T0 = Date.UTC(2026, 10, 4, 12, 0);

const space = () => pairSpace(T0);

describe('the weekly meeting, as the screens read it', () => {
  it('names the days as the model numbers them', () => {
    expect(weekdayNames[new Date(T0).getUTCDay()]).toBe('Wednesday');
    expect(meetingDayWords(null)).toBe('You have not picked a day yet.');
    expect(meetingDayWords({ weekday: 3, by: ALEX, at: T0 })).toBe('You meet on Wednesdays.');
    expect(meetingDayWords({ weekday: null, by: ALEX, at: T0 })).toBe(
      'You have not picked a day yet.',
    );
  });

  it('reminds on the picked day until the week’s meeting has started', () => {
    const doc = space();
    const due = meetingDueView(doc, WEDNESDAY);
    expect(due.current).toBe(false);
    setMeetingDay(doc, { weekday: 3, by: SAM, at: T0 });
    expect(meetingDueView(doc, WEDNESDAY).current).toBe(true);
    expect(meetingDueView(doc, '2026-11-05' as IsoDate).current).toBe(false);
    startMeeting(doc, { week: weekOf(WEDNESDAY), startedBy: ALEX, at: T0 });
    expect(meetingDueView(doc, WEDNESDAY).current).toBe(false);
    const view = meetingsView(doc).current;
    expect(view.day?.weekday).toBe(3);
    expect(view.meetings.map((m) => m.week)).toEqual(['2026-11-02']);
    expect(meetingsView(new Y.Doc()).current).toEqual({ day: null, meetings: [] });
  });
});
