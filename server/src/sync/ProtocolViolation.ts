import { CloseCode } from '@mend/protocol';
import type { RejectReason } from '../metrics.js';

/**
 * Bad input from one socket. Thrown anywhere below `Room.receive`, caught there in one place,
 * where it closes only that socket with `closeCode`.
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
