/**
 * Every WebSocket close code Mend uses, with the reason sent to the client. Mirrors HTTP where a
 * matching status exists (4400 bad request, 4404 gone, 4413 too large, 4507 space full). Codes
 * in 4400-4599 mean "do not retry as is"; 1001, 1011 and 1013 mean "reconnect".
 */
export const CloseCode = {
  /** Server shutting down or restarting; reconnect later. */
  goingAway: 1001,
  /** A text frame: Mend speaks binary y-websocket messages only. */
  unsupportedData: 1003,
  /** A message larger than MEND_MAX_MESSAGE_BYTES. */
  messageTooBig: 1009,
  /** The server could not save or load the space; the client reconnects and resyncs. */
  serverError: 1011,
  /** Undecodable message, unknown message type, or an invalid Yjs update. */
  badMessage: 4400,
  /** This device was removed from the space (its token revoked) while the socket was open. */
  revoked: 4401,
  /** The space was deleted while the socket was open. */
  spaceGone: 4404,
  /**
   * Sealed spaces: an envelope that does not continue its stream's chain, names another device or
   * space, or writes a stream another device claimed (docs/protocol.md). Resending it as is fails
   * again.
   */
  chainConflict: 4409,
  /**
   * The space was sealed (end-to-end encrypted, docs/protocol.md "Converting a plaintext space"):
   * a plaintext socket or write for it is refused from now on; the device fetches its key.
   */
  sealedNow: 4410,
  /** An awareness state larger than allowed. */
  awarenessTooLarge: 4413,
  /**
   * The space reached its stored-bytes quota (MEND_MAX_SPACE_BYTES, as HTTP's 507 Insufficient
   * Storage). The update was not stored; retrying it would be refused again.
   */
  spaceFull: 4507,
  /**
   * Too many messages per second on this socket, or too many sockets in the space. The standard
   * "try again later" rather than a 44xx code: clients back off and reconnect, never give up.
   */
  tooMany: 1013,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * The reason sent with each close code, in plain words a person could be shown. A WebSocket
 * close reason holds at most 123 bytes of UTF-8.
 */
export const closeReason: Record<CloseCode, string> = {
  [CloseCode.goingAway]: 'Mend is restarting. It reconnects by itself in a moment.',
  [CloseCode.unsupportedData]: 'This app sent something Mend cannot read. Please reload the page.',
  [CloseCode.messageTooBig]: 'This change is too large to save at once. Please reload the page.',
  [CloseCode.serverError]: 'Mend had a problem on its side. It reconnects by itself in a moment.',
  [CloseCode.badMessage]: 'This app sent something Mend cannot read. Please reload the page.',
  [CloseCode.revoked]: 'This device is no longer part of this space.',
  [CloseCode.spaceGone]: 'This space no longer exists. It may have been deleted.',
  [CloseCode.chainConflict]: 'This device sent a change out of order. Please reload the page.',
  [CloseCode.sealedNow]: 'This space is end-to-end encrypted now. Mend is moving this device over.',
  [CloseCode.awarenessTooLarge]: 'This device sent too much at once. Please reload the page.',
  [CloseCode.spaceFull]: 'This space is full. What was saved is safe; new changes cannot be saved.',
  [CloseCode.tooMany]: 'Too much at once. Mend waits a moment, then reconnects by itself.',
};
