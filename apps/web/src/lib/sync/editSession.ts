/**
 * The field a person is typing in, from focus to blur: one edit as a person counts it. Live
 * fields write the shared text on every keystroke, and "16 changes not sent yet" after one short
 * sentence counted keystrokes; counting sessions reads as what the person did. One page has one
 * focused field at a time, so one current session is enough.
 */
let current: object | null = null;

export const editSession = {
  /** Starts a session for a field that gained focus; returns its token for `end`. */
  begin(): object {
    current = {};
    return current;
  },
  end(token: object): void {
    if (current === token) current = null;
  },
  /** The session changes are being made in now, or `null` outside any field. */
  get current(): object | null {
    return current;
  },
};
