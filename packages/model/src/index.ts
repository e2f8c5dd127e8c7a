/**
 * @mend/model: the repair space as typed, pure functions over a Y.Doc.
 *
 * Writes: each is one `doc.transact(fn, Origin.<op>)`, validated before it opens (a refused call
 * throws `ModelError` and writes nothing). Time and ids are passed in. Reads return plain
 * snapshots; `*Texts`/`*Text` hand out the live `Y.Text`s for co-editing. See README.md.
 */
export { ModelError, ModelErrorCode, isModelError } from './errors.js';
export {
  ID_PATTERN,
  isId,
  randomId,
  type AgreementId,
  type AnswerId,
  type BoundaryId,
  type BreakId,
  type CheckinKey,
  type IdGenerator,
  type KeepEntryId,
  type PartnerId,
  type QuestionId,
  type RevealId,
  type ShareKey,
  type SpaceId,
} from './ids.js';
export { Operation, Origin, isModelOrigin, type ModelOrigin } from './origin.js';
export {
  AgreementLifecycle,
  AgreementStatus,
  BreakLength,
  BreakStatus,
  CheckinState,
  Feeling,
  KeepValue,
  Limits,
  MAX_PARTNERS,
  QuestionStatus,
  REVEAL_KIND_PATTERN,
  RevealAnswerStatus,
  Role,
  Root,
  SCHEMA_VERSION,
  SEALED_ANSWER_MAX_BYTES,
  ThreadItemKind,
  type Acceptance,
  type AcceptedWording,
  type AgreedWording,
  type AgreementSnapshot,
  type BoundarySnapshot,
  type BreakSnapshot,
  type CheckinSnapshot,
  type EpochMs,
  type HiddenAnswerSnapshot,
  type IsoDate,
  type KeepEntry,
  type KeepLogDay,
  type PartnerChange,
  type PartnerSnapshot,
  type QuestionSnapshot,
  type RevealFollowUp,
  type RevealPartnerView,
  type RevealSnapshot,
  type ShareContent,
  type ShareSnapshot,
  type SpaceSnapshot,
  type ThreadItem,
  type Wording,
} from './schema.js';
export { roots, type SpaceRoots } from './store.js';
export { codePoints, isIsoDate } from './validate.js';
export { addDays, daysBetween, isOnDay } from './dates.js';
export { textFingerprint, wordingFingerprint } from './fingerprint.js';
export {
  DEFAULT_SEEN_INTERVAL_MS,
  addPartner,
  getPartner,
  getSpace,
  initSpace,
  listPartners,
  markPartnerSeen,
  otherPartner,
  renameSpace,
  setDisplayName,
  setPartnerRole,
  setPresenceSharing,
  type AddPartnerInput,
  type InitSpaceInput,
  type MarkPartnerSeenInput,
  type RenameSpaceInput,
  type SetDisplayNameInput,
  type SetPartnerRoleInput,
  type SetPresenceSharingInput,
} from './space.js';
export { PARTNER_COLORS, writeMissingPartner, writeNewSpace, writeSecondPartner } from './seats.js';
export {
  acceptAgreement,
  agreementStatus,
  agreementTexts,
  editAgreement,
  getAgreement,
  keepLog,
  listAgreements,
  logKeep,
  proposeAgreement,
  setAgreementLifecycle,
  type AcceptAgreementInput,
  type EditAgreementInput,
  type KeepLogQuery,
  type LogKeepInput,
  type ProposeAgreementInput,
  type SetAgreementLifecycleInput,
} from './agreements.js';
export {
  addFollowUp,
  answerQuestion,
  answerText,
  askAgain,
  askAgainChain,
  askQuestion,
  closeQuestion,
  getQuestion,
  listQuestions,
  markQuestionRead,
  questionStatus,
  questionText,
  reopenQuestion,
  unreadFor,
  unreadIn,
  type AskAgainInput,
  type AskQuestionInput,
  type CloseQuestionInput,
  type MarkQuestionReadInput,
  type QuestionActionInput,
  type ThreadItemInput,
  type UnreadCount,
} from './questions.js';
export { changesToSee, markChangeSeen, type MarkChangeSeenInput } from './notices.js';
export { checkIn, checkinKey, getCheckin, listCheckins, type CheckInInput } from './checkins.js';
export {
  acknowledgeBoundary,
  addBoundary,
  editBoundary,
  getBoundary,
  listBoundaries,
  type AcknowledgeBoundaryInput,
  type AddBoundaryInput,
  type EditBoundaryInput,
} from './boundaries.js';
export {
  getShare,
  listShares,
  markShareHeard,
  saveShare,
  shareFingerprint,
  shareHistory,
  shareKey,
  sharesToHear,
  type MarkShareHeardInput,
  type SaveShareInput,
  type ShareDay,
} from './shares.js';
export {
  callBreak,
  endBreak,
  getBreak,
  listBreaks,
  openBreakOf,
  takeMoreTime,
  type CallBreakInput,
  type EndBreakInput,
  type TakeMoreTimeInput,
} from './breaks.js';
export {
  addRevealFollowUp,
  answerKeyCommitment,
  answerKeysDue,
  getReveal,
  isRevealKind,
  listReveals,
  openReveal,
  publishAnswerKey,
  submitHiddenAnswer,
  type AddRevealFollowUpInput,
  type OpenRevealInput,
  type PublishAnswerKeyInput,
  type SubmitHiddenAnswerInput,
} from './reveals.js';
export { ANSWER_KEY_BYTES } from './revealBytes.js';
export { DiffKind, diffWords, wordingChange, type DiffPart, type WordingChange } from './diff.js';
export {
  agreementChanges,
  checkinSeries,
  keepRate,
  todayFor,
  type AgreementChangesInput,
  type CheckinPoint,
  type CheckinSeriesInput,
  type KeepRate,
  type KeepRateInput,
  type Today,
  type TodayInput,
} from './views.js';
export { migrate, schemaVersionOf, type MigrationResult } from './migrate.js';
export {
  ShapeFault,
  checkUpdateShape,
  type DeletedRange,
  type KnownClock,
  type ShapedUpdate,
  type UpdateShape,
} from './updateShape.js';
export {
  UpdateRefusal,
  checkRemoteUpdate,
  type UpdateAuthor,
  type UpdateVerdict,
} from './authorship.js';
export { checkRemoteUpdateByReplica } from './authorshipOracle.js';
