import type { CloseCode } from '@mend/protocol';

/**
 * All a room needs from a connection. The `ws` adapter (WsTransport) implements it for real
 * sockets; tests implement it in memory.
 */
export interface RoomSocket {
  /** Sends one binary message. Never throws; a dead socket drops it. */
  send(message: Uint8Array): void;
  /** Closes with a code from `@mend/protocol`. Idempotent. */
  close(code: CloseCode): void;
}
