/**
 * Every WebSocket close code Mend uses, with the reason sent to the client. Mirrors HTTP where a
 * matching status exists (4400 bad request, 4404 gone, 4413 too large). Codes in 4400-4499 mean
 * "do not retry as is"; 1001, 1011 and 1013 mean "reconnect".
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
  /** The space was deleted while the socket was open. */
  spaceGone: 4404,
  /** An awareness state larger than allowed. */
  awarenessTooLarge: 4413,
  /**
   * Too many messages per second on this socket, or too many sockets in the space. The standard
   * "try again later" rather than a 44xx code: clients back off and reconnect, never give up.
   */
  tooMany: 1013,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export const closeReason: Record<CloseCode, string> = {
  [CloseCode.goingAway]: 'server is shutting down',
  [CloseCode.unsupportedData]: 'text frames are not accepted',
  [CloseCode.messageTooBig]: 'message too large',
  [CloseCode.serverError]: 'the server had a problem; reconnecting',
  [CloseCode.badMessage]: 'malformed message',
  [CloseCode.spaceGone]: 'this space no longer exists',
  [CloseCode.awarenessTooLarge]: 'presence state too large',
  [CloseCode.tooMany]: 'too many messages or connections',
};
