import { isModelError, ModelErrorCode } from '@mend/model';

/**
 * Turns anything a write can throw into calm words. A person never sees a stack trace; the
 * developer detail goes to the console.
 */
export function explain(error: unknown): string {
  console.error(error);
  if (!isModelError(error)) {
    return 'Something went wrong and this was not saved. Please try again; nothing else was lost.';
  }
  switch (error.code) {
    case ModelErrorCode.invalidArgument:
      return error.message;
    case ModelErrorCode.notFound:
      return 'This item is not in the space any more, or has not arrived on this device yet.';
    case ModelErrorCode.staleWording:
      return 'The wording changed while you were reading it. Please read the new wording first.';
    case ModelErrorCode.notAllowed:
      return 'Only the person who wrote this can change it.';
    case ModelErrorCode.spaceNotInitialised:
      return 'This space has not finished arriving on this device yet. Please wait until it says "Up to date".';
    case ModelErrorCode.schemaTooNew:
      return 'This space was changed by a newer version of Mend. Please reload the page to update.';
    case ModelErrorCode.spaceAlreadyInitialised:
    case ModelErrorCode.spaceFull:
    case ModelErrorCode.duplicateId:
      return error.message;
  }
}
