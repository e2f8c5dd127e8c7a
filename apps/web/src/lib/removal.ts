// Loaded on demand by the devices page: removing a device works through the sealed client.
import {
  fromBase64Url,
  removeDevice as remove,
  RemovalError,
  SealedApiError,
  SealedError,
  type SealedSession,
} from '@mend/sealed';

/** Removes a device (its signing key, base64url) and moves the space to a new epoch. */
export async function removeDevice(session: SealedSession, device: string): Promise<void> {
  await remove(session, fromBase64Url(device, 32));
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
