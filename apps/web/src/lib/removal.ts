// Loaded on demand by the devices page: removing a device works through the sealed client.
import {
  fromBase64Url,
  leaveWithNewKey as leave,
  removeDevice as remove,
  RemovalErrorReason,
  RemovalError,
  SealedApiError,
  SealedError,
  type SealedSession,
} from '@mend/sealed';

/** Removes a device (its signing key, base64url) and moves the space to a new epoch. */
export async function removeDevice(session: SealedSession, device: string): Promise<void> {
  await remove(session, fromBase64Url(device, 32));
}

/** The joining device's new key once both partners are in (`SealedSync`), loaded with this module. */
export { rotateAfterJoin } from '@mend/sealed';

/** How changing the keys before leaving went (`leaveWithNewKey`). */
export type LeavingKeys =
  { kind: 'done' } | { kind: 'unreachable' } | { kind: 'failed'; problem: string };

/**
 * Before this device leaves the space: moves it to a new key that goes to every other device and
 * never to this one (docs/protocol.md, "Leaving a space"). A device not in the space (never fully
 * set up, or removed already) has nothing to change: done. No answer within `timeoutMs`, or no
 * connection: unreachable, and nothing else is done.
 */
export async function leaveWithNewKey(
  session: SealedSession,
  timeoutMs = 15_000,
): Promise<LeavingKeys> {
  try {
    await leave(session, { signal: AbortSignal.timeout(timeoutMs) });
    return { kind: 'done' };
  } catch (error) {
    const reason = error instanceof RemovalError ? error.reason : null;
    if (reason === RemovalErrorReason.notMember) return { kind: 'done' };
    if (reason === RemovalErrorReason.cancelled || error instanceof TypeError) {
      return { kind: 'unreachable' };
    }
    return { kind: 'failed', problem: leavingProblem(error) };
  }
}

function leavingProblem(error: unknown): string {
  if (error instanceof RemovalError && error.reason === RemovalErrorReason.contended) {
    return error.message;
  }
  if (error instanceof SealedApiError && error.status === 429) {
    return 'Too many tries in a short time. Please wait a minute and try again.';
  }
  return 'Mend could not finish giving your space its new key. Please try again in a moment.';
}

/** What went wrong, in words a person can act on. */
export function removalProblem(error: unknown): string {
  if (error instanceof RemovalError || error instanceof SealedError) return error.message;
  if (error instanceof SealedApiError) {
    if (error.status === 429)
      return 'Too many tries in a short time. Please wait a minute and try again.';
    return error.message;
  }
  if (error instanceof TypeError) {
    return 'This device cannot reach the Mend server right now. Removing a device needs a connection: try again once you are online.';
  }
  return 'Something went wrong while removing the device. Please try again.';
}
