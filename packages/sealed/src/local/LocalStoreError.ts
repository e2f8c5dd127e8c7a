/**
 * Every way the device's copy of a sealed space can fail. The app maps a reason to what the
 * person sees; the message is plain enough to show as is.
 */
export const LocalStoreErrorReason = {
  /** The browser refused to store more: the disk is full or the site's storage quota is used up. */
  quota: 'quota',
  /**
   * There is no usable IndexedDB: storage is disabled or restricted (some private modes), the
   * browser failed to read its files, or the database was closed under this tab (removed, or
   * upgraded by a newer version of Mend in another tab).
   */
  unavailable: 'unavailable',
  /** Another tab keeps an older version of the database open, or holds a newer one than this tab knows. */
  blocked: 'blocked',
  /** What is stored cannot be read back as this space (wrong shape, secrets that do not open). */
  corrupt: 'corrupt',
} as const;
export type LocalStoreErrorReason =
  (typeof LocalStoreErrorReason)[keyof typeof LocalStoreErrorReason];

const plainMessage: Record<LocalStoreErrorReason, string> = {
  quota:
    'This device has no room left to keep your space. Free some storage space, then try again.',
  unavailable:
    'This browser will not let Mend keep your space on this device (private browsing or blocked storage can do this). Reload the page, or try another browser.',
  blocked:
    'Mend is open in another tab with a different version. Close the other Mend tabs, then reload this one.',
  corrupt:
    'The copy of your space on this device cannot be read. Reload the page; if this happens again, remove the space from this device and open it again.',
};

/** The one error the local store rejects with. A failed write has stored nothing. */
export class LocalStoreError extends Error {
  override readonly name = 'LocalStoreError';
  readonly reason: LocalStoreErrorReason;

  constructor(reason: LocalStoreErrorReason, options?: { cause?: unknown }) {
    super(plainMessage[reason], options);
    this.reason = reason;
  }
}

export function isLocalStoreError(value: unknown): value is LocalStoreError {
  return value instanceof LocalStoreError;
}

/** The reason behind an IndexedDB or WebCrypto failure, from the DOMException's name. */
export function toLocalStoreError(cause: unknown): LocalStoreError {
  if (cause instanceof LocalStoreError) return cause;
  const name = cause instanceof Error || cause instanceof DOMException ? cause.name : '';
  return new LocalStoreError(reasonForName(name), { cause });
}

function reasonForName(name: string): LocalStoreErrorReason {
  switch (name) {
    case 'QuotaExceededError':
      return LocalStoreErrorReason.quota;
    case 'VersionError':
      return LocalStoreErrorReason.blocked;
    // Stored values or keys this code cannot take (a missing store, a value that cannot be
    // cloned or decrypted, a second outbox envelope at the same counter).
    case 'NotFoundError':
    case 'DataError':
    case 'DataCloneError':
    case 'ConstraintError':
    case 'OperationError':
      return LocalStoreErrorReason.corrupt;
    default:
      return LocalStoreErrorReason.unavailable;
  }
}
