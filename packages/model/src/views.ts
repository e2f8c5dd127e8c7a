import type * as Y from 'yjs';
import type { AgreementId, PartnerId, QuestionId } from './ids.js';
import type { CheckinSnapshot, CheckinState, IsoDate } from './schema.js';
import type { WordingChange } from './diff.js';

const todo = (): never => {
  throw new Error('not implemented yet');
};

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
  /** Proposed or changed agreements whose current wording this partner has not accepted. */
  readonly agreementsToReview: readonly AgreementId[];
  /** Questions the other partner asked that are open or need a follow-up answer. */
  readonly questionsWaiting: readonly QuestionId[];
  /** Questions with something unread, and the total unread thread items. */
  readonly unreadQuestions: readonly QuestionId[];
  readonly unreadItems: number;
  /** Boundaries of the other partner whose current text this partner has not acknowledged. */
  readonly boundariesToAcknowledge: readonly string[];
}

export function todayFor(_doc: Y.Doc, _input: TodayInput): Today {
  return todo();
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

/** Counts current entries only: a corrected day counts once, with its corrected value. */
export function keepRate(_doc: Y.Doc, _input: KeepRateInput): KeepRate {
  return todo();
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

/** A partner's check-ins as a date-sorted series for charts; days without one are absent. */
export function checkinSeries(_doc: Y.Doc, _input: CheckinSeriesInput): CheckinPoint[] {
  return todo();
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
 * `null` when there is no earlier accepted wording to compare with.
 */
export function agreementChanges(_doc: Y.Doc, _input: AgreementChangesInput): WordingChange | null {
  return todo();
}
