/**
 * Every way a model function can refuse its input. The app maps a code to calm words for the
 * person in front of it; the message is for developers and logs.
 */
export const ModelErrorCode = {
  /** An argument has the wrong type, is out of range, or is too long. */
  invalidArgument: 'invalid-argument',
  /** An id (partner, agreement, question, answer, boundary) does not exist in this document. */
  notFound: 'not-found',
  /** The space has not been initialised yet (`initSpace` has not run on this document). */
  spaceNotInitialised: 'space-not-initialised',
  /** `initSpace` ran already on this document. */
  spaceAlreadyInitialised: 'space-already-initialised',
  /** The space already has two partners. */
  spaceFull: 'space-full',
  /** An item with this id exists already. */
  duplicateId: 'duplicate-id',
  /** The wording a partner accepted (or the text acknowledged) is not the current one. */
  staleWording: 'stale-wording',
  /** This partner may not do this (e.g. editing someone else's boundary). */
  notAllowed: 'not-allowed',
  /** The document was written by a newer version of Mend than this code knows. */
  schemaTooNew: 'schema-too-new',
} as const;
export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];

/** The one error type the model throws. Nothing is written to the document when it is thrown. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly code: ModelErrorCode;

  constructor(code: ModelErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export function isModelError(value: unknown): value is ModelError {
  return value instanceof ModelError;
}
