import * as Y from 'yjs';
import { addDays } from './dates.js';
import { ModelError, ModelErrorCode } from './errors.js';
import {
  isId,
  randomId,
  type AnswerId,
  type IdGenerator,
  type MeetingKey,
  type PartnerId,
  type RepairId,
} from './ids.js';
import { Origin } from './origin.js';
import { getRepair } from './repairs.js';
import {
  Limits,
  type EpochMs,
  type IsoDate,
  type MeetingAppreciation,
  type MeetingDaySetting,
  type MeetingIssue,
  type MeetingPartnerPart,
  type MeetingSnapshot,
} from './schema.js';
import {
  isRecord,
  notFound,
  partnerIds,
  requireInitialised,
  requirePartner,
  roots,
  yarray,
} from './store.js';
import {
  codePoints,
  freshId,
  isEpochMs,
  isIsoDate,
  requireEpochMs,
  requireId,
  requireIsoDate,
  requireText,
} from './validate.js';

/*
 * The weekly state of the union (SPEC.md, Weekly meetings). A meeting is the week's, keyed by
 * that week's Monday; each partner writes their own part of it under `${week}:${partnerId}`
 * (like a day's share), so two partners starting it at once never replace each other's words.
 */

const DAY_MS = 86_400_000;

function invalid(message: string): ModelError {
  return new ModelError(ModelErrorCode.invalidArgument, message);
}

function notAllowed(message: string): ModelError {
  return new ModelError(ModelErrorCode.notAllowed, message);
}

/** The day of the week of a date: 0 Sunday to 6 Saturday. */
export function weekdayOf(date: IsoDate): number {
  const [y, m, d] = requireIsoDate(date, 'date').split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

/** The Monday of the (ISO, Monday-first) week a date is in. */
export function weekOf(date: IsoDate): IsoDate {
  return addDays(date, -((weekdayOf(date) + 6) % 7));
}

export function isWeekStart(value: unknown): value is IsoDate {
  return isIsoDate(value) && weekdayOf(value) === 1;
}

/** The key of a partner's part of a week's meeting. */
export function meetingKey(week: IsoDate, partnerId: PartnerId): MeetingKey {
  return `${week}:${partnerId}` as MeetingKey;
}

function requireWeek(value: unknown): IsoDate {
  if (!isWeekStart(value)) throw invalid("A meeting's week is the date of its Monday.");
  return value;
}

/**
 * Whether `at` can be a moment of the week starting `week` somewhere on Earth (UTC−12 to
 * UTC+14): a meeting is held, and written, in its own week.
 */
function isInWeek(week: IsoDate, at: EpochMs): boolean {
  const [y, m, d] = week.split('-').map(Number) as [number, number, number];
  const start = Date.UTC(y, m - 1, d);
  return at >= start - 14 * 3_600_000 && at < start + 7 * DAY_MS + 12 * 3_600_000;
}

// ---- the day the couple picked

export interface SetMeetingDayInput {
  /** 0 Sunday to 6 Saturday, or null for no day (no reminder). */
  readonly weekday: number | null;
  /** Either partner; the latest choice counts. */
  readonly by: PartnerId;
  readonly at: EpochMs;
}

/** The day of the week the couple meets on; one setting, the last writer's. */
export function setMeetingDay(doc: Y.Doc, input: SetMeetingDayInput): MeetingDaySetting {
  requireInitialised(doc);
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  const weekday = input.weekday;
  if (weekday !== null && !isWeekday(weekday)) {
    throw invalid('The meeting day is a day of the week, 0 (Sunday) to 6 (Saturday), or none.');
  }
  const setting: MeetingDaySetting = { weekday, by, at };
  const current = getMeetingDay(doc);
  if (current?.weekday === weekday) return current;
  doc.transact(() => roots(doc).space.set('meetingDay', setting), Origin.setMeetingDay);
  return setting;
}

export function isWeekday(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 6;
}

export function getMeetingDay(doc: Y.Doc): MeetingDaySetting | null {
  const value = roots(doc).space.get('meetingDay');
  if (!isRecord(value)) return null;
  const { weekday, by, at } = value;
  if ((weekday !== null && !isWeekday(weekday)) || !isId(by) || !isEpochMs(at)) return null;
  return { weekday, by: by as PartnerId, at };
}

/**
 * Whether Today reminds both of the meeting: `today` is the day they picked and their meeting of
 * this week has not started yet.
 */
export function meetingDue(doc: Y.Doc, input: { readonly today: IsoDate }): boolean {
  const today = requireIsoDate(input.today, 'today');
  const day = getMeetingDay(doc);
  return (
    day !== null && day.weekday === weekdayOf(today) && getMeeting(doc, weekOf(today)) === null
  );
}

// ---- a meeting

export interface StartMeetingInput {
  /** The Monday of the meeting's week (`weekOf(today)`). */
  readonly week: IsoDate;
  readonly startedBy: PartnerId;
  /** Must fall in that week: a meeting is held in its own week. */
  readonly at: EpochMs;
}

/**
 * Starts the week's meeting, or returns it if it has started (there is one a week, whoever
 * started it and on whichever device).
 */
export function startMeeting(doc: Y.Doc, input: StartMeetingInput): MeetingSnapshot {
  requireInitialised(doc);
  const startedBy = requirePartner(doc, input.startedBy, 'startedBy');
  const week = requireWeek(input.week);
  const at = requireEpochMs(input.at, 'at');
  if (!isInWeek(week, at)) throw invalid('A meeting is started in its own week.');
  const existing = getMeeting(doc, week);
  if (existing) return existing;
  doc.transact(() => ownPart(doc, week, startedBy, at), Origin.startMeeting);
  return getMeeting(doc, week)!;
}

/** The partner's part of the week's meeting, created if they have none (inside a transaction). */
function ownPart(doc: Y.Doc, week: IsoDate, partnerId: PartnerId, at: EpochMs): Y.Map<unknown> {
  const meetings = roots(doc).meetings;
  const key = meetingKey(week, partnerId);
  const existing = meetings.get(key);
  if (existing instanceof Y.Map && readPart(key, existing)) return existing;
  const part = new Y.Map<unknown>();
  part.set('week', week);
  part.set('partnerId', partnerId);
  part.set('startedAt', at);
  part.set('appreciations', new Y.Array<unknown>());
  meetings.set(key, part);
  return part;
}

/** The meeting of `week`, which must have started; writes in it fall in its week. */
function requireMeeting(doc: Y.Doc, weekValue: unknown, at: EpochMs): IsoDate {
  requireInitialised(doc);
  const week = requireWeek(weekValue);
  if (!getMeeting(doc, week)) throw notFound('meeting of the week', week);
  if (!isInWeek(week, at))
    throw notAllowed("A meeting is written in its own week; it's kept as it was.");
  return week;
}

export interface AddAppreciationInput {
  readonly id?: AnswerId;
  readonly week: IsoDate;
  /** The author: each partner adds their own. */
  readonly partnerId: PartnerId;
  readonly text: string;
  readonly at: EpochMs;
}

/** One appreciation, added to the author's own list; appended only, never changed. */
export function addAppreciation(
  doc: Y.Doc,
  input: AddAppreciationInput,
  newId: IdGenerator = randomId,
): MeetingAppreciation {
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const text = requireText(input.text, 'An appreciation', 1, Limits.meetingText);
  const at = requireEpochMs(input.at, 'at');
  const week = requireMeeting(doc, input.week, at);
  const meeting = getMeeting(doc, week)!;
  const taken = new Set(
    meeting.partners.flatMap((p) => p.appreciations.map((a) => a.id as string)),
  );
  const id = freshId<AnswerId>(input.id, newId, 'Appreciation id', (i) => taken.has(i));
  const stored: MeetingAppreciation = { id, by: partnerId, text, at };
  doc.transact(() => {
    const part = ownPart(doc, week, partnerId, at);
    yarray(part, 'appreciations')!.push([stored]);
  }, Origin.addAppreciation);
  return stored;
}

export interface SetWentWellInput {
  readonly week: IsoDate;
  /** The author: each partner writes their own. */
  readonly partnerId: PartnerId;
  readonly text: string;
  readonly at: EpochMs;
}

/** What went well this week, in the author's words; changed freely during the week. */
export function setWentWell(doc: Y.Doc, input: SetWentWellInput): MeetingSnapshot {
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const text = requireText(input.text, 'What went well', 0, Limits.meetingText);
  const at = requireEpochMs(input.at, 'at');
  const week = requireMeeting(doc, input.week, at);
  const own = getMeeting(doc, week)!.partners.find((p) => p.partnerId === partnerId);
  if (own?.wentWell?.text === text) return getMeeting(doc, week)!;
  doc.transact(
    () => ownPart(doc, week, partnerId, at).set('wentWell', { text, at }),
    Origin.setWentWell,
  );
  return getMeeting(doc, week)!;
}

export interface MeetingIssueInput {
  readonly week: IsoDate;
  /** The repair (after-a-fight steps) the issue is worked through with. */
  readonly repairId: RepairId;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

/**
 * The one issue of the meeting, linked once (`not-allowed` once it has one; linking the same
 * repair again writes nothing). Start the repair first (`startRepair`).
 */
export function meetingIssue(doc: Y.Doc, input: MeetingIssueInput): MeetingSnapshot {
  const by = requirePartner(doc, input.by, 'by');
  const repairId = requireId<RepairId>(input.repairId, 'repairId');
  const at = requireEpochMs(input.at, 'at');
  const week = requireMeeting(doc, input.week, at);
  if (!getRepair(doc, repairId)) throw notFound('repair', repairId);
  const meeting = getMeeting(doc, week)!;
  if (meeting.issue) {
    if (meeting.issue.repairId === repairId) return meeting;
    throw notAllowed('This meeting has its issue already; one is worked through at a time.');
  }
  doc.transact(
    () => ownPart(doc, week, by, at).set('issue', { repairId, week, by, at }),
    Origin.meetingIssue,
  );
  return getMeeting(doc, week)!;
}

// ---- reading

interface Part {
  readonly partnerId: PartnerId;
  readonly startedAt: EpochMs;
  readonly appreciations: readonly MeetingAppreciation[];
  readonly wentWell: { readonly text: string; readonly at: EpochMs } | null;
  readonly issue: {
    readonly repairId: RepairId;
    readonly by: PartnerId;
    readonly at: EpochMs;
  } | null;
}

function readAppreciation(value: unknown, partnerId: PartnerId): MeetingAppreciation | null {
  if (!isRecord(value)) return null;
  const { id, by, text, at } = value;
  if (!isId(id) || by !== partnerId || typeof text !== 'string' || !isEpochMs(at)) return null;
  if (codePoints(text) > Limits.meetingText) return null;
  return { id: id as AnswerId, by: partnerId, text, at };
}

/** A partner's part, or null while incomplete (its fields are written when it is created). */
function readPart(key: string, part: Y.Map<unknown>): Part | null {
  const week = part.get('week');
  const partnerId = part.get('partnerId');
  const startedAt = part.get('startedAt');
  const list = yarray(part, 'appreciations');
  if (
    !isWeekStart(week) ||
    !isId(partnerId) ||
    key !== meetingKey(week, partnerId as PartnerId) ||
    !isEpochMs(startedAt) ||
    !list
  ) {
    return null;
  }
  const owner = partnerId as PartnerId;
  const well = part.get('wentWell');
  const wentWell =
    isRecord(well) &&
    typeof well.text === 'string' &&
    codePoints(well.text) <= Limits.meetingText &&
    isEpochMs(well.at)
      ? { text: well.text, at: well.at }
      : null;
  const link = part.get('issue');
  const issue =
    isRecord(link) && isId(link.repairId) && link.by === owner && isEpochMs(link.at)
      ? { repairId: link.repairId as RepairId, by: owner, at: link.at }
      : null;
  return {
    partnerId: owner,
    startedAt,
    appreciations: list.toArray().flatMap((v) => readAppreciation(v, owner) ?? []),
    wentWell,
    issue,
  };
}

function partsOf(doc: Y.Doc): Map<IsoDate, Part[]> {
  const weeks = new Map<IsoDate, Part[]>();
  for (const [key, value] of roots(doc).meetings.entries()) {
    const part = value instanceof Y.Map ? readPart(key, value) : null;
    if (!part) continue;
    const week = key.slice(0, key.indexOf(':'));
    weeks.set(week, [...(weeks.get(week) ?? []), part]);
  }
  return weeks;
}

function meetingOf(doc: Y.Doc, week: IsoDate, parts: readonly Part[]): MeetingSnapshot {
  const order = partnerIds(doc);
  const rank = (p: PartnerId) => (order.includes(p) ? order.indexOf(p) : order.length);
  const sorted = [...parts].sort(
    (a, b) =>
      a.startedAt - b.startedAt ||
      rank(a.partnerId) - rank(b.partnerId) ||
      (a.partnerId < b.partnerId ? -1 : 1),
  );
  const first = sorted[0]!;
  const partners: MeetingPartnerPart[] = order.map((partnerId) => {
    const part = parts.find((p) => p.partnerId === partnerId);
    return {
      partnerId,
      joinedAt: part?.startedAt ?? null,
      appreciations: part?.appreciations ?? [],
      wentWell: part?.wentWell ?? null,
    };
  });
  // At most one part holds an issue (the rule table refuses a second); should two, the earliest
  // part's counts, the same on every replica.
  const linked = sorted.find((p) => p.issue !== null)?.issue ?? null;
  const issue: MeetingIssue | null = linked
    ? { ...linked, repair: getRepair(doc, linked.repairId) }
    : null;
  return { week, startedBy: first.partnerId, startedAt: first.startedAt, partners, issue };
}

export function getMeeting(doc: Y.Doc, week: IsoDate): MeetingSnapshot | null {
  const parts = partsOf(doc).get(week);
  return parts ? meetingOf(doc, week, parts) : null;
}

/** Every meeting, the most recent week first, for rereading. */
export function listMeetings(doc: Y.Doc): MeetingSnapshot[] {
  return [...partsOf(doc)]
    .sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))
    .map(([week, parts]) => meetingOf(doc, week, parts));
}
