import { CloseCode } from '@mend/protocol';
import type { Limits } from '../config.js';
import { ProtocolViolation } from './ProtocolViolation.js';

export type BudgetLimits = Pick<
  Limits,
  'messagesPerSecond' | 'messageBurst' | 'bytesPerSecond' | 'byteBurst'
>;

/**
 * What one socket may still send: two budgets refilled over time, messages, and bytes (a
 * message may be up to MEND_MAX_MESSAGE_BYTES, so counting messages alone lets one socket push
 * gigabytes a minute). Past either, `spend` throws and the socket is closed with 1013, so its
 * client backs off.
 */
export class SocketBudget {
  readonly #limits: BudgetLimits;
  /** Messages this socket may still send now (refilled at messagesPerSecond). */
  #tokens: number;
  /** Bytes this socket may still send now (refilled at bytesPerSecond). */
  #bytes: number;
  #refilledAt: number;

  /** A full budget (one burst of each) as of `now`. */
  constructor(limits: BudgetLimits, now: number) {
    this.#limits = limits;
    this.#tokens = limits.messageBurst;
    this.#bytes = limits.byteBurst;
    this.#refilledAt = now;
  }

  /** Refills for the time since the last message, then spends one message of `byteLength`. */
  spend(byteLength: number, now: number): void {
    const { messagesPerSecond, messageBurst, bytesPerSecond, byteBurst } = this.#limits;
    const elapsed = (now - this.#refilledAt) / 1000;
    this.#tokens = Math.min(messageBurst, this.#tokens + elapsed * messagesPerSecond);
    this.#bytes = Math.min(byteBurst, this.#bytes + elapsed * bytesPerSecond);
    this.#refilledAt = now;
    if (this.#tokens < 1) {
      throw new ProtocolViolation(CloseCode.tooMany, 'rate-limited', 'too many messages');
    }
    if (this.#bytes < byteLength) {
      throw new ProtocolViolation(CloseCode.tooMany, 'too-many-bytes', 'too many bytes');
    }
    this.#tokens -= 1;
    this.#bytes -= byteLength;
  }
}
