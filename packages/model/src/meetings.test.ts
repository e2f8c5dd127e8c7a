import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ModelErrorCode } from './errors.js';
import type { PartnerId } from './ids.js';
import {
  addAppreciation,
  getMeeting,
  getMeetingDay,
  listMeetings,
  meetingDue,
  meetingIssue,
  setMeetingDay,
  setWentWell,
  startMeeting,
  weekOf,
  weekdayOf,
} from './meetings.js';
import { Origin } from './origin.js';
import { startRepair } from './repairs.js';
import {
  A,
  B,
  T0,
  codeOf,
  counterIds,
  originsOf,
  replicaOf,
  sync,
  twoPartnerSpace,
  updatesDuring,
} from './testing/fixtures.js';

// T0 is Sunday 2026-11-01, 09:00 UTC: its week started on Monday 2026-10-26.
const WEEK = '2026-10-26';
const ids = () => counterIds('meeting-test-id-');

describe('weekly state of the union', () => {
  it('knows weekdays and weeks', () => {
    expect(weekdayOf('2026-11-01')).toBe(0);
    expect(weekdayOf('2026-10-26')).toBe(1);
    expect(weekOf('2026-11-01')).toBe(WEEK);
    expect(weekOf('2026-10-26')).toBe(WEEK);
    expect(weekOf('2026-11-02')).toBe('2026-11-02');
  });

  it('the meeting day is one setting, the last writer’s, and says when it is due', () => {
    const doc = twoPartnerSpace();
    expect(meetingDue(doc, { today: '2026-11-01' })).toBe(false);
    expect(originsOf(doc, () => setMeetingDay(doc, { weekday: 0, by: A, at: T0 }))).toEqual([
      Origin.setMeetingDay,
    ]);
    expect(getMeetingDay(doc)).toEqual({ weekday: 0, by: A, at: T0 });
    expect(meetingDue(doc, { today: '2026-11-01' })).toBe(true);
    expect(meetingDue(doc, { today: '2026-10-31' })).toBe(false);
    startMeeting(doc, { week: WEEK, startedBy: B, at: T0 });
    expect(meetingDue(doc, { today: '2026-11-01' })).toBe(false);
    expect(meetingDue(doc, { today: '2026-11-08' })).toBe(true);
    setMeetingDay(doc, { weekday: null, by: B, at: T0 + 1 });
    expect(meetingDue(doc, { today: '2026-11-08' })).toBe(false);
    for (const weekday of [7, -1, 1.5, '1' as unknown as number]) {
      expect(codeOf(() => setMeetingDay(doc, { weekday, by: A, at: T0 }))).toBe(
        ModelErrorCode.invalidArgument,
      );
    }
  });

  it('one meeting a week: a second start returns it, on any device; starts in its own week', () => {
    const doc = twoPartnerSpace();
    const first = startMeeting(doc, { week: WEEK, startedBy: A, at: T0 });
    expect(first.startedBy).toBe(A);
    expect(
      updatesDuring(doc, () =>
        expect(startMeeting(doc, { week: WEEK, startedBy: B, at: T0 + 5 })).toEqual(first),
      ),
    ).toEqual([]);
    expect(codeOf(() => startMeeting(doc, { week: '2026-10-27', startedBy: A, at: T0 }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(codeOf(() => startMeeting(doc, { week: '2026-11-09', startedBy: A, at: T0 }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(listMeetings(doc)).toHaveLength(1);
  });

  it('both starting at once keep one meeting and both partners’ words', () => {
    const a = twoPartnerSpace();
    const b = replicaOf(a);
    startMeeting(a, { week: WEEK, startedBy: A, at: T0 });
    addAppreciation(a, { week: WEEK, partnerId: A, text: 'You listened', at: T0 + 1 }, ids());
    startMeeting(b, { week: WEEK, startedBy: B, at: T0 + 2 });
    addAppreciation(b, { week: WEEK, partnerId: B, text: 'You came home', at: T0 + 3 }, ids());
    sync(a, b);
    for (const doc of [a, b]) {
      const meetings = listMeetings(doc);
      expect(meetings).toHaveLength(1);
      expect(meetings[0]!.startedBy).toBe(A);
      expect(meetings[0]!.partners.map((p) => p.appreciations.map((x) => x.text))).toEqual([
        ['You listened'],
        ['You came home'],
      ]);
    }
  });

  it('appreciations are appended, each partner’s own; what went well is each one’s own text', () => {
    const doc = twoPartnerSpace();
    startMeeting(doc, { week: WEEK, startedBy: A, at: T0 });
    const gen = ids();
    addAppreciation(doc, { week: WEEK, partnerId: A, text: 'One', at: T0 + 1 }, gen);
    addAppreciation(doc, { week: WEEK, partnerId: A, text: 'Two', at: T0 + 2 }, gen);
    addAppreciation(doc, { week: WEEK, partnerId: B, text: 'Three', at: T0 + 3 }, gen);
    setWentWell(doc, { week: WEEK, partnerId: B, text: 'Sunday walk', at: T0 + 4 });
    expect(
      updatesDuring(doc, () =>
        setWentWell(doc, { week: WEEK, partnerId: B, text: 'Sunday walk', at: T0 + 5 }),
      ),
    ).toEqual([]);
    const m = getMeeting(doc, WEEK)!;
    expect(m.partners.map((p) => p.appreciations.map((x) => x.text))).toEqual([
      ['One', 'Two'],
      ['Three'],
    ]);
    expect(m.partners.map((p) => p.wentWell?.text ?? null)).toEqual([null, 'Sunday walk']);
    expect(
      codeOf(() => addAppreciation(doc, { week: WEEK, partnerId: A, text: ' ', at: T0 })),
    ).toBe(ModelErrorCode.invalidArgument);
    expect(
      codeOf(() =>
        addAppreciation(doc, { week: '2026-11-02', partnerId: A, text: 'x', at: T0 + 86_400_000 }),
      ),
    ).toBe(ModelErrorCode.notFound);
    // Written in its own week only.
    expect(
      codeOf(() =>
        addAppreciation(doc, { week: WEEK, partnerId: A, text: 'x', at: T0 + 8 * 86_400_000 }),
      ),
    ).toBe(ModelErrorCode.notAllowed);
  });

  it('at most one issue, linked once to a repair', () => {
    const doc = twoPartnerSpace();
    startMeeting(doc, { week: WEEK, startedBy: A, at: T0 });
    const gen = counterIds('issue-repair-id-');
    const r1 = startRepair(doc, { title: 'Phone', startedBy: A, at: T0 }, gen);
    const r2 = startRepair(doc, { title: 'Money', startedBy: B, at: T0 }, gen);
    const link = (by: PartnerId, repairId = r1.id) =>
      meetingIssue(doc, { week: WEEK, repairId, by, at: T0 + 10 });
    expect(originsOf(doc, () => link(B))).toEqual([Origin.meetingIssue]);
    const m = getMeeting(doc, WEEK)!;
    expect(m.issue).toMatchObject({ repairId: r1.id, by: B, at: T0 + 10 });
    expect(m.issue!.repair!.title).toBe('Phone');
    expect(updatesDuring(doc, () => link(A))).toEqual([]);
    expect(codeOf(() => link(A, r2.id))).toBe(ModelErrorCode.notAllowed);
    expect(codeOf(() => link(B, r2.id))).toBe(ModelErrorCode.notAllowed);
    expect(
      codeOf(() =>
        meetingIssue(doc, { week: WEEK, repairId: 'missingXXXXXXXXXXXXX' as never, by: A, at: T0 }),
      ),
    ).toBe(ModelErrorCode.notFound);
  });

  it('lists meetings newest week first', () => {
    const doc = twoPartnerSpace();
    startMeeting(doc, { week: WEEK, startedBy: A, at: T0 });
    startMeeting(doc, { week: '2026-11-02', startedBy: A, at: T0 + 86_400_000 });
    expect(listMeetings(doc).map((m) => m.week)).toEqual(['2026-11-02', WEEK]);
    // A document without the new roots reads them as empty.
    expect(listMeetings(new Y.Doc())).toEqual([]);
  });
});
