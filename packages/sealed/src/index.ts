export * from './errors.js';
export { fromBase64Url, toBase64Url, equalBytes } from './bytes.js';
export { boxOpen, boxSeal, sha256, type KeyPair } from './crypto.js';
export * from './reveal.js';
export * from './privateCheckin.js';
export * from './identity.js';
export * from './SpaceKeyring.js';
export * from './invite.js';
export * from './link.js';
export {
  deriveRecoveryDevice,
  formatRecoveryCode,
  newRecoveryCode,
  parseRecoveryCode,
  parseRecoveryFragment,
  recoveryAddress,
  recoveryKitLink,
  recoverySignature,
  verifyRecoverySignature,
  type RecoveryCode,
} from './recovery.js';
export * from './envelopes.js';
export * from './payloads.js';
export * from './StreamChains.js';
export * from './StreamWriter.js';
export * from './safetyCode.js';
export * from './local/index.js';
export { REMOTE, STORED } from './client/origins.js';
export { openLocalCopy, type LocalCopy } from './client/localCopy.js';
export { SealedReplica, SetAsideReason } from './client/SealedReplica.js';
export type {
  CandidateKey,
  Receipt,
  ReplicaOptions,
  RulesBook,
  SetAside,
  SpaceDevice,
  Standing,
  StayingDevice,
} from './client/SealedReplica.js';
export type { EpochRecord, KeysRecord, LinkRecord, RulesRecord } from './client/memberRules.js';
export { modelRules } from './client/rulesBook.js';
export { KeysNotStoredError, SealedProvider } from './client/SealedProvider.js';
export type {
  ProviderEvents,
  ProviderOptions,
  ProviderStatus,
  SocketLike,
} from './client/providerTypes.js';
export { Outbox, type OutboxStorage } from './client/Outbox.js';
export {
  memoryHeld,
  type HeldChanges,
  type HeldSealOutcome,
  type HeldSource,
} from './client/heldChanges.js';
export { ProcessLocks, webLocks, type PageLocks } from './client/pageLocks.js';
export * from './client/sealedSpaces.js';
export * from './client/conversion.js';
export * from './client/linking.js';
export * from './client/removal.js';
export { rotatesAfterJoin } from './client/afterJoin.js';
export * from './client/recoveryKit.js';
export * from './client/recoverSeat.js';
export {
  openMemorySession,
  type MemorySessionOptions,
  type ShortSession,
} from './client/memorySession.js';
export { fetchCandidateKeys, leaveEpochBoxes } from './client/epochBoxes.js';
export * from './epochBox.js';
export {
  decodeMembership,
  encodeMembership,
  type StoredMembership,
} from './client/membershipCodec.js';
export { SeatReveals } from './client/SeatReveals.js';
export type { ReadableAnswer, SeatRevealsOptions } from './client/SeatReveals.js';
export { SealedSession } from './client/SealedSession.js';
export type { SealedSessionOptions, SessionEvents } from './client/SealedSession.js';
