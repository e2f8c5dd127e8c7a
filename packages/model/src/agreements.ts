import type * as Y from 'yjs';
import type { AgreementId, IdGenerator, KeepEntryId, PartnerId } from './ids.js';
import type {
  AgreementLifecycle,
  AgreementSnapshot,
  AgreementStatus,
  EpochMs,
  IsoDate,
  KeepLogDay,
  KeepValue,
} from './schema.js';

const todo = (): never => {
  throw new Error('not implemented yet');
};

export interface ProposeAgreementInput {
  /** Defaults to a fresh random id. */
  readonly id?: AgreementId;
  readonly title: string;
  readonly body: string;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

/** A new agreement, proposed by `by`. Nobody has accepted it yet (not even its proposer). */
export function proposeAgreement(
  _doc: Y.Doc,
  _input: ProposeAgreementInput,
  _newId?: IdGenerator,
): AgreementId {
  return todo();
}

export interface EditAgreementInput {
  readonly agreementId: AgreementId;
  /** New full title; omitted = unchanged. Only the changed middle is replaced, so edits merge. */
  readonly title?: string;
  readonly body?: string;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

export function editAgreement(_doc: Y.Doc, _input: EditAgreementInput): void {
  todo();
}

export interface AcceptAgreementInput {
  readonly agreementId: AgreementId;
  readonly partnerId: PartnerId;
  /**
   * The fingerprint of the wording the partner was shown (`AgreementSnapshot.fingerprint`).
   * If the wording changed since, this throws `stale-wording` and records nothing.
   */
  readonly fingerprint: string;
  readonly at: EpochMs;
}

export function acceptAgreement(_doc: Y.Doc, _input: AcceptAgreementInput): void {
  todo();
}

export interface SetAgreementLifecycleInput {
  readonly agreementId: AgreementId;
  /** `open` resumes a paused agreement (or brings back a retired one). */
  readonly lifecycle: AgreementLifecycle;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

export function setAgreementLifecycle(_doc: Y.Doc, _input: SetAgreementLifecycleInput): void {
  todo();
}

export interface LogKeepInput {
  readonly id?: KeepEntryId;
  readonly agreementId: AgreementId;
  /** Whose keeping is logged; the partner logs their own. */
  readonly partnerId: PartnerId;
  readonly date: IsoDate;
  readonly value: KeepValue;
  readonly note?: string;
  readonly at: EpochMs;
}

/** Logs (or corrects) one day. A correction appends; the earlier value stays visible. */
export function logKeep(_doc: Y.Doc, _input: LogKeepInput, _newId?: IdGenerator): KeepEntryId {
  return todo();
}

// ---- reads

export function getAgreement(_doc: Y.Doc, _agreementId: AgreementId): AgreementSnapshot | null {
  return todo();
}

/** All agreements, oldest first. */
export function listAgreements(_doc: Y.Doc): AgreementSnapshot[] {
  return todo();
}

export function agreementStatus(_doc: Y.Doc, _agreementId: AgreementId): AgreementStatus {
  return todo();
}

/** The live `Y.Text`s for co-editing. Wrap local typing in `doc.transact(fn, Origin.liveEdit)`. */
export function agreementTexts(
  _doc: Y.Doc,
  _agreementId: AgreementId,
): { readonly title: Y.Text; readonly body: Y.Text } {
  return todo();
}

export interface KeepLogQuery {
  readonly agreementId: AgreementId;
  readonly partnerId?: PartnerId;
  /** Inclusive bounds, YYYY-MM-DD. */
  readonly from?: IsoDate;
  readonly to?: IsoDate;
}

/** One row per (date, partner) that has entries, sorted by date then partner. */
export function keepLog(_doc: Y.Doc, _query: KeepLogQuery): KeepLogDay[] {
  return todo();
}
