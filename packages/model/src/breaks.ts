import * as Y from 'yjs';
import { isOnDay } from './dates.js';
import { ModelError, ModelErrorCode } from './errors.js';
import { randomId, type BreakId, type IdGenerator, type PartnerId } from './ids.js';
import { Origin } from './origin.js';
import {
  BreakLength,
  BreakStatus,
  type BreakSnapshot,
  type EpochMs,
  type IsoDate,
} from './schema.js';
import { notFound, requireInitialised, requirePartner, roots } from './store.js';
import { freshId, isEpochMs, isIsoDate, requireEpochMs, requireIsoDate } from './validate.js';

const MINUTE_MS = 60_000;
const LENGTHS: readonly number[] = Object.values(BreakLength);

export interface CallBreakInput {
  readonly id?: BreakId;
  /** The caller. The break is theirs: only they end it. */
  readonly by: PartnerId;
  /** How long, in minutes: one of `BreakLength`. */
  readonly minutes: BreakLength;
  /** The caller's today. */
  readonly date: IsoDate;
  /** When the break starts; must fall on `date`. The return time is `at + minutes`. */
  readonly at: EpochMs;
}

interface CheckedCall {
  readonly by: PartnerId;
  readonly minutes: BreakLength;
  readonly date: IsoDate;
  readonly at: EpochMs;
}

/** Everything a call must satisfy except that no break of the caller's is open. */
function checkCall(doc: Y.Doc, input: Omit<CallBreakInput, 'id'>): CheckedCall {
  requireInitialised(doc);
  const by = requirePartner(doc, input.by, 'by');
  if (typeof input.minutes !== 'number' || !LENGTHS.includes(input.minutes)) {
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      `A break lasts ${LENGTHS.join(', ')} minutes.`,
    );
  }
  const date = requireIsoDate(input.date, 'date');
  const at = requireEpochMs(input.at, 'at');
  if (!isOnDay(date, at)) {
    throw new ModelError(ModelErrorCode.invalidArgument, 'A break is called for the day it is.');
  }
  return { by, minutes: input.minutes, date, at };
}

function writeCall(doc: Y.Doc, call: CheckedCall, id: BreakId): void {
  const entry = new Y.Map<unknown>();
  entry.set('id', id);
  entry.set('by', call.by);
  entry.set('date', call.date);
  entry.set('minutes', call.minutes);
  entry.set('calledAt', call.at);
  roots(doc).breaks.set(id, entry);
}

/**
 * A partner calls a break (a time-out when flooded) and names when they will come back. Refused
 * while this partner's previous break is still open: they say they are back first.
 */
export function callBreak(
  doc: Y.Doc,
  input: CallBreakInput,
  newId: IdGenerator = randomId,
): BreakSnapshot {
  const call = checkCall(doc, input);
  if (openBreakOf(doc, call.by) !== null) {
    throw new ModelError(
      ModelErrorCode.notAllowed,
      'You are on a break already; say you are back before calling another.',
    );
  }
  const breaks = roots(doc).breaks;
  const id = freshId<BreakId>(input.id, newId, 'Break id', (i) => breaks.has(i));
  doc.transact(() => writeCall(doc, call, id), Origin.callBreak);
  return getBreak(doc, id)!;
}

export interface EndBreakInput {
  readonly breakId: BreakId;
  /** Must be the caller: the other partner cannot end someone's break. */
  readonly by: PartnerId;
  readonly at: EpochMs;
}

/**
 * The caller's "I'm back". Returns false, writing nothing, if the break is not open any more (a
 * break has one end). An end is never earlier than the call: another device of the caller's
 * with a slow clock records the call's time instead.
 */
export function endBreak(doc: Y.Doc, input: EndBreakInput): boolean {
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  const id = String(input.breakId);
  const entry = roots(doc).breaks.get(id);
  const current = entry instanceof Y.Map ? getBreak(doc, id as BreakId) : null;
  if (!entry || !current) throw notFound('break', id);
  if (current.by !== by) {
    throw new ModelError(
      ModelErrorCode.notAllowed,
      'Only the partner who called a break can end it.',
    );
  }
  if (current.status !== BreakStatus.open) return false;
  doc.transact(() => entry.set('endedAt', Math.max(at, current.calledAt)), Origin.endBreak);
  return true;
}

interface StoredBreak {
  readonly id: BreakId;
  readonly by: PartnerId;
  readonly date: IsoDate;
  readonly minutes: BreakLength;
  readonly calledAt: EpochMs;
  readonly endedAt: EpochMs | null;
}

/**
 * The stored break, or `null` while it is incomplete. Every field but `endedAt` is written once,
 * when the break is called, so it arrives whole; a parked `endedAt` reads as not ended yet.
 */
function stored(id: string, entry: Y.Map<unknown>): StoredBreak | null {
  const by = entry.get('by');
  const date = entry.get('date');
  const minutes = entry.get('minutes');
  const calledAt = entry.get('calledAt');
  const endedAt = entry.get('endedAt');
  if (
    entry.get('id') !== id ||
    typeof by !== 'string' ||
    !isIsoDate(date) ||
    typeof minutes !== 'number' ||
    !LENGTHS.includes(minutes) ||
    !isEpochMs(calledAt)
  ) {
    return null;
  }
  return {
    id: id as BreakId,
    by: by as PartnerId,
    date,
    minutes: minutes as BreakLength,
    calledAt,
    endedAt: isEpochMs(endedAt) ? Math.max(endedAt, calledAt) : null,
  };
}

/** `a` was called before `b`: by time, then by id, so every replica orders them alike. */
function before(a: StoredBreak, b: StoredBreak): boolean {
  return a.calledAt < b.calledAt || (a.calledAt === b.calledAt && a.id < b.id);
}

/** Every break, in the order they were called. */
export function listBreaks(doc: Y.Doc): BreakSnapshot[] {
  const all: StoredBreak[] = [];
  for (const [id, entry] of roots(doc).breaks.entries()) {
    const s = entry instanceof Y.Map ? stored(id, entry) : null;
    if (s) all.push(s);
  }
  all.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  // Only a partner's latest break can be open: an earlier one never ended was replaced.
  const latest = new Map<PartnerId, BreakId>();
  for (const b of all) latest.set(b.by, b.id);
  return all.map((b) => {
    const returnAt = b.calledAt + b.minutes * MINUTE_MS;
    const status: BreakStatus =
      b.endedAt !== null
        ? b.endedAt < returnAt
          ? BreakStatus.endedEarly
          : BreakStatus.returned
        : latest.get(b.by) === b.id
          ? BreakStatus.open
          : BreakStatus.replaced;
    return { ...b, returnAt, status };
  });
}

export interface TakeMoreTimeInput {
  readonly id?: BreakId;
  /** The open break, past the time its caller named. */
  readonly breakId: BreakId;
  /** Must be the caller. */
  readonly by: PartnerId;
  /** How much longer, from `at`: one of `BreakLength`. */
  readonly minutes: BreakLength;
  /** The caller's today. */
  readonly date: IsoDate;
  readonly at: EpochMs;
}

/**
 * The caller, at or after the time they named, needs longer. The break ends (they came back to
 * it, at the time they said) and a new one starts at `at` for `minutes`, in one change: the
 * partner never sees them back in between, and sees the new return time. Before the named time
 * the break simply goes on, so more time is refused then (it would read as an early end); so is
 * more time on a break that is not open, or someone else's (`not-allowed`). Nothing is written
 * when refused.
 */
export function takeMoreTime(
  doc: Y.Doc,
  input: TakeMoreTimeInput,
  newId: IdGenerator = randomId,
): BreakSnapshot {
  const call = checkCall(doc, input);
  const current = getBreak(doc, input.breakId);
  if (!current) throw notFound('break', String(input.breakId));
  if (current.by !== call.by) {
    throw new ModelError(
      ModelErrorCode.notAllowed,
      'Only the partner who called a break can take more time.',
    );
  }
  if (current.status !== BreakStatus.open) {
    throw new ModelError(
      ModelErrorCode.notAllowed,
      'This break has ended already; call a new one if you need it.',
    );
  }
  if (call.at < current.returnAt) {
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      'Your break goes on until the time you named; more time comes after it.',
    );
  }
  const breaks = roots(doc).breaks;
  const id = freshId<BreakId>(input.id, newId, 'Break id', (i) => breaks.has(i));
  const entry = breaks.get(current.id) as Y.Map<unknown>;
  doc.transact(() => {
    entry.set('endedAt', call.at);
    writeCall(doc, call, id);
  }, Origin.takeMoreTime);
  return getBreak(doc, id)!;
}

export function getBreak(doc: Y.Doc, breakId: BreakId): BreakSnapshot | null {
  return listBreaks(doc).find((b) => b.id === breakId) ?? null;
}

/** The partner's open break, if any; there is never more than one. */
export function openBreakOf(doc: Y.Doc, partnerId: PartnerId): BreakSnapshot | null {
  return listBreaks(doc).find((b) => b.by === partnerId && b.status === BreakStatus.open) ?? null;
}
