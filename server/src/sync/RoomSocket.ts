import type { CloseCode, SpaceId } from '@mend/protocol';

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

/**
 * What the transport drives for one connection: a room, as seen from its sockets. A plaintext
 * Room is one; a sealed room gives one per device (it binds each socket to the device whose
 * token opened it).
 */
export interface SocketHost {
  readonly spaceId: SpaceId;
  /** Adds the socket; false (having closed it) if it cannot be served. */
  attach(socket: RoomSocket): boolean;
  /** Handles one binary message. Never throws. */
  receive(socket: RoomSocket, message: Uint8Array): void;
  /** Forgets the socket (closed or failed). Idempotent. */
  detach(socket: RoomSocket): void;
}
