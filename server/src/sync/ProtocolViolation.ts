import { CloseCode, type SpaceId } from '@mend/protocol';
import type { Logger } from '../log.js';
import type { Metrics, RejectReason } from '../metrics.js';

/**
 * Bad input from one socket. Thrown anywhere below `Room.receive`, caught there in one place
 * (`refusalCode`), where it closes only that socket with `closeCode`.
 */
export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation';
  constructor(
    readonly closeCode: CloseCode,
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }

  static malformed(message: string): ProtocolViolation {
    return new ProtocolViolation(CloseCode.badMessage, 'malformed', message);
  }
}

/**
 * The code to close a socket with after handling its message threw `error`, counted and
 * logged. Anything but a ProtocolViolation is input we failed to classify: closed like any bad
 * input, but kept at warn to be looked into.
 */
export function refusalCode(
  error: unknown,
  deps: { metrics: Metrics; log: Logger },
  spaceId: SpaceId,
): CloseCode {
  const violation =
    error instanceof ProtocolViolation ? error : ProtocolViolation.malformed('unreadable message');
  if (!(error instanceof ProtocolViolation)) {
    deps.metrics.reject('unexpected');
    deps.log.warn({ err: error, spaceId }, 'unexpected error handling a message');
  } else deps.metrics.reject(violation.reason);
  // Strangers can send bad input at will: counted in metrics, logged only at debug.
  deps.log.debug(
    { spaceId, reason: violation.reason, closeCode: violation.closeCode },
    'closing a socket that sent bad input',
  );
  return violation.closeCode;
}
