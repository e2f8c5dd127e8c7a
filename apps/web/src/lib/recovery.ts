// Loaded on demand by the devices page and the recover page: the recovery kit works through the
// sealed client (docs/protocol.md, "Recovery kit").
import { SEALED_SUBPROTOCOL, type SpaceId } from '@mend/protocol';
import {
  fromBase64Url,
  LinkError,
  makeRecoveryKit,
  openMemorySession,
  recoverSeat,
  RecoveryError,
  RemovalError,
  SealedApiError,
  SealedError,
  SealedSession,
  type SocketLike,
} from '@mend/sealed';

export type RecoveryStep = 'checking' | 'opening' | 'adding';

export interface RecoveryKit {
  /** The code as written on the kit: eight groups of four. */
  readonly code: string;
  /** Where to use it: `<origin>/recover/<spaceId>`. */
  readonly address: string;
  /** What "Copy it" puts on the clipboard: the address with the code, and the code. */
  readonly text: string;
}

/** Makes this seat's recovery kit; an earlier one (`oldKit`, its device key) stops working. */
export async function makeKit(
  session: SealedSession,
  oldKit: string | null,
  origin: string,
): Promise<RecoveryKit> {
  const kit = await makeRecoveryKit(session, {
    origin,
    replacing: oldKit === null ? null : fromBase64Url(oldKit, 32),
  });
  return {
    code: kit.code,
    address: kit.address,
    text: `Mend recovery kit\n${kit.address}\nCode: ${kit.code}\n${kit.link}`,
  };
}

/** Takes this person's seat back on this device; its keys are kept for the space to open. */
export async function recover(
  spaceId: SpaceId,
  code: string,
  step: (step: RecoveryStep) => void,
): Promise<{ partnerId: string }> {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${scheme}//${location.host}/sync/${encodeURIComponent(spaceId)}`;
  // The recovery device and the new one sync in memory while this runs (the space's IndexedDB
  // database is the new device's, written by `keep`); the cookie is each one's credential in turn.
  const { membership } = await recoverSeat(spaceId, code, {
    cookie: true,
    step,
    openSession: async (m) =>
      openMemorySession(m, {
        openSocket: () => new WebSocket(url, [SEALED_SUBPROTOCOL]) as unknown as SocketLike,
      }),
    keep: (m) => SealedSession.saveMembership(m),
  });
  return { partnerId: membership.partnerId };
}

/** What went wrong, in words a person can act on. */
export function recoveryProblem(error: unknown): string {
  if (error instanceof RecoveryError || error instanceof RemovalError) return error.message;
  if (error instanceof LinkError) return error.message;
  if (error instanceof SealedError) return error.message;
  if (error instanceof SealedApiError) {
    return error.status === 429
      ? 'Too many tries with wrong codes. For your safety, please wait an hour and try again.'
      : error.message;
  }
  if (error instanceof TypeError) {
    return 'This device cannot reach the Mend server right now. Check the connection and try again.';
  }
  return 'Something went wrong. Please try again.';
}
