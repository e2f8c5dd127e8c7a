import type * as Y from 'yjs';
import { getAgreement, keepLog, listAgreements } from './agreements.js';
import { listBoundaries } from './boundaries.js';
import { listBreaks } from './breaks.js';
import { getCheckin, listCheckins } from './checkins.js';
import { daysBetween } from './dates.js';
import { wordingChange, type WordingChange } from './diff.js';
import { ModelError, ModelErrorCode } from './errors.js';
import type { AgreementId, BoundaryId, PartnerId, QuestionId, ShareKey } from './ids.js';
import { changesToSee } from './notices.js';
import { listQuestions, unreadIn } from './questions.js';
import { getShare, sharesToHear } from './shares.js';
import {
  AgreementStatus,
  BreakStatus,
  KeepValue,
  PrivateScope,
  QuestionStatus,
  type BreakSnapshot,
  type CheckinSnapshot,
  type CheckinState,
  type IsoDate,
  type PartnerChange,
  type ShareSnapshot,
  type Wording,
} from './schema.js';
import { notFound, partnerIds, requirePartner } from './store.js';
import { requireIsoDate } from './validate.js';

export interface TodayInput {
  readonly partnerId: PartnerId;
  /** Today in the partner's own time zone. */
  readonly date: IsoDate;
}

export interface Today {
  readonly date: IsoDate;
  readonly partnerId: PartnerId;
  /** The partner's own check-in for the day, if any. */
  readonly checkin: CheckinSnapshot | null;
  /** Active (or changed) agreements the partner has not logged for the day. */
  readonly agreementsToLog: readonly AgreementId[];
  /** Open agreements (proposed or changed) whose current wording this partner has not accepted. */
  readonly agreementsToReview: readonly AgreementId[];
  /** Questions waiting for this partner: the other's open questions and follow-ups. */
  readonly questionsWaiting: readonly QuestionId[];
  /** Questions with something unread, and the total unread thread items. */
  readonly unreadQuestions: readonly QuestionId[];
  readonly unreadItems: number;
  /** Boundaries of the other partner whose current text this partner has not acknowledged. */
  readonly boundariesToAcknowledge: readonly BoundaryId[];
  /** What the other partner paused, retired, resumed or closed that this partner has not seen. */
  readonly changesToSee: readonly PartnerChange[];
  /** The partner's own daily share for the day, if written. */
  readonly share: ShareSnapshot | null;
  /** The other partner's shares this partner has not heard yet, oldest first. */
  readonly sharesToHear: readonly ShareKey[];
  /** Breaks not ended yet, this partner's and the other's (at most one each). */
  readonly openBreaks: readonly BreakSnapshot[];
}

export function todayFor(doc: Y.Doc, input: TodayInput): Today {
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const date = requireIsoDate(input.date, 'date');
  const agreements = listAgreements(doc);
  const inEffect = (s: AgreementStatus) =>
    s === AgreementStatus.active || s === AgreementStatus.changed;
  const needsReview = (s: AgreementStatus) =>
    s === AgreementStatus.proposed || s === AgreementStatus.changed;
  const agreementsToLog = agreements
    .filter(
      (a) =>
        inEffect(a.status) &&
        keepLog(doc, { agreementId: a.id, partnerId, from: date, to: date }).length === 0,
    )
    .map((a) => a.id);
  const agreementsToReview = agreements
    .filter((a) => needsReview(a.status) && !a.acceptedCurrentBy.includes(partnerId))
    .map((a) => a.id);

  const questions = listQuestions(doc);
  const questionsWaiting = questions
    .filter((q) => {
      switch (q.status) {
        case QuestionStatus.open:
          return q.askedBy !== partnerId;
        case QuestionStatus.needsFollowUp:
          return q.thread[q.thread.length - 1]?.by !== partnerId;
        case QuestionStatus.answered:
        case QuestionStatus.closed:
          return false;
        default: {
          const unreachable: never = q.status;
          return unreachable;
        }
      }
    })
    .map((q) => q.id);
  const unreadQuestions: QuestionId[] = [];
  let unreadItems = 0;
  for (const q of questions) {
    const unread = unreadIn(q, partnerId);
    if (unread.questionUnread || unread.items > 0) unreadQuestions.push(q.id);
    unreadItems += unread.items;
  }
  const boundariesToAcknowledge = listBoundaries(doc)
    .filter((b) => b.owner !== partnerId && b.acknowledgement === null)
    .map((b) => b.id);

  return {
    date,
    partnerId,
    checkin: getCheckin(doc, date, partnerId),
    agreementsToLog,
    agreementsToReview,
    questionsWaiting,
    unreadQuestions,
    unreadItems,
    boundariesToAcknowledge,
    changesToSee: changesToSee(doc, partnerId),
    share: getShare(doc, date, partnerId),
    sharesToHear: sharesToHear(doc, partnerId).map((s) => s.key),
    openBreaks: listBreaks(doc).filter((b) => b.status === BreakStatus.open),
  };
}

export interface KeepRateInput {
  readonly agreementId: AgreementId;
  /** Omit for both partners together. */
  readonly partnerId?: PartnerId;
  /** Inclusive window, YYYY-MM-DD. */
  readonly from: IsoDate;
  readonly to: IsoDate;
}

export interface KeepRate {
  readonly kept: number;
  readonly missed: number;
  readonly notApplicable: number;
  /** (date, partner) cells in the window with no entry. */
  readonly unlogged: number;
  /** kept / (kept + missed), or `null` when nothing countable was logged. */
  readonly rate: number | null;
}

/** Ten years: a window longer than this is a mistake, not a chart. */
const MAX_WINDOW_DAYS = 3660;

/** Counts current entries only: a corrected day counts once, with its corrected value. */
export function keepRate(doc: Y.Doc, input: KeepRateInput): KeepRate {
  const from = requireIsoDate(input.from, 'from');
  const to = requireIsoDate(input.to, 'to');
  if (input.partnerId !== undefined) requirePartner(doc, input.partnerId, 'partnerId');
  const days = daysBetween(from, to);
  if (days.length > MAX_WINDOW_DAYS) {
    throw new ModelError(ModelErrorCode.invalidArgument, 'The window is longer than ten years.');
  }
  const partners = input.partnerId !== undefined ? [input.partnerId] : partnerIds(doc);
  const rows = keepLog(doc, { agreementId: input.agreementId, from, to }).filter((r) =>
    partners.includes(r.partnerId),
  );
  const counts = { kept: 0, missed: 0, notApplicable: 0 };
  for (const row of rows) {
    switch (row.current.value) {
      case KeepValue.kept:
        counts.kept++;
        break;
      case KeepValue.missed:
        counts.missed++;
        break;
      case KeepValue.notApplicable:
        counts.notApplicable++;
        break;
      default: {
        const unreachable: never = row.current.value;
        return unreachable;
      }
    }
  }
  const countable = counts.kept + counts.missed;
  return {
    ...counts,
    unlogged: days.length * partners.length - rows.length,
    rate: countable === 0 ? null : counts.kept / countable,
  };
}

export interface CheckinSeriesInput {
  readonly partnerId: PartnerId;
  readonly from?: IsoDate;
  readonly to?: IsoDate;
}

export interface CheckinPoint {
  readonly date: IsoDate;
  readonly safety: number;
  readonly state: CheckinState;
}

/**
 * A partner's check-ins as a date-sorted series for charts; days without one are absent, and so
 * are check-ins kept private whole (their author's device opens those and adds them itself).
 */
export function checkinSeries(doc: Y.Doc, input: CheckinSeriesInput): CheckinPoint[] {
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const from = input.from === undefined ? undefined : requireIsoDate(input.from, 'from');
  const to = input.to === undefined ? undefined : requireIsoDate(input.to, 'to');
  const points: CheckinPoint[] = [];
  for (const c of listCheckins(doc)) {
    if (
      c.private !== PrivateScope.checkin &&
      c.partnerId === partnerId &&
      (from === undefined || c.date >= from) &&
      (to === undefined || c.date <= to)
    ) {
      points.push({ date: c.date, safety: c.safety, state: c.state });
    }
  }
  return points;
}

export interface AgreementChangesInput {
  readonly agreementId: AgreementId;
  /** Fingerprint of the earlier wording; default: the latest wording both partners accepted. */
  readonly from?: string;
  /** Fingerprint of the later wording; default: the current wording. */
  readonly to?: string;
}

/**
 * What changed between two wordings of an agreement from its history (or the current text).
 * `null` when no `from` is given and no wording was ever accepted by both partners.
 */
export function agreementChanges(doc: Y.Doc, input: AgreementChangesInput): WordingChange | null {
  const agreement = getAgreement(doc, input.agreementId);
  if (!agreement) throw notFound('agreement', String(input.agreementId));
  const find = (fingerprint: string): Wording => {
    if (fingerprint === agreement.fingerprint) return agreement;
    const entry = agreement.history.find((h) => h.fingerprint === fingerprint);
    if (!entry) {
      throw new ModelError(
        ModelErrorCode.notFound,
        'That wording is not in this agreement’s history.',
      );
    }
    return entry;
  };
  const from = input.from ?? agreement.inForce?.fingerprint;
  if (from === undefined) return null;
  return wordingChange(find(from), find(input.to ?? agreement.fingerprint));
}
