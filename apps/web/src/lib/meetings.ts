import {
  getMeetingDay,
  listMeetings,
  meetingDue,
  roots,
  type IsoDate,
  type MeetingDaySetting,
  type MeetingSnapshot,
} from '@mend/model';
import type * as Y from 'yjs';
import { YView } from './sync/YView.svelte.js';

/*
 * The weekly state of the union. Loaded with its screen, and by Today after the space is shown
 * (its reminder), never on first load.
 */

/** The days of the week as the model numbers them: 0 Sunday to 6 Saturday. */
export const weekdayNames = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
] as const;

export interface MeetingsState {
  readonly day: MeetingDaySetting | null;
  /** Every meeting, the most recent week first. */
  readonly meetings: readonly MeetingSnapshot[];
}

function meetingRoots(doc: Y.Doc) {
  const r = roots(doc);
  // A meeting's issue reads its repair, and the repair its steps.
  return [r.meetings, r.space, r.repairs, r.reveals];
}

export function meetingsView(doc: Y.Doc): YView<MeetingsState> {
  return new YView(meetingRoots(doc), () => {
    try {
      return { day: getMeetingDay(doc), meetings: listMeetings(doc) };
    } catch {
      return { day: null, meetings: [] };
    }
  });
}

/** Whether Today reminds this partner of the meeting on `today` (the picked day, none yet). */
export function meetingDueView(doc: Y.Doc, today: IsoDate): YView<boolean> {
  return new YView(meetingRoots(doc), () => {
    try {
      return meetingDue(doc, { today });
    } catch {
      return false;
    }
  });
}

/** The day the couple meets, in a sentence. */
export function meetingDayWords(day: MeetingDaySetting | null): string {
  return day?.weekday == null
    ? 'You have not picked a day yet.'
    : `You meet on ${weekdayNames[day.weekday]}s.`;
}
