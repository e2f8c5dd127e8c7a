// Loaded on demand (through sealedSync.ts, loadPrivateCheckins), only where a private check-in is
// written or read: the sealing stays out of the first load.
import type { CheckinSnapshot } from '@mend/model';
import {
  keepCheckinPrivate,
  readOwnCheckin,
  SealedError,
  type OwnCheckin,
  type SeatSecret,
} from '@mend/sealed';

export { keepCheckinPrivate };

/**
 * This partner's own check-in as they read it, or null when what they kept private does not open
 * on this device (sealed by another of their devices, before their seat secret reached this one,
 * or damaged on the way).
 */
export function readOwn(
  seatSecret: SeatSecret,
  spaceId: string,
  checkin: CheckinSnapshot,
): OwnCheckin | null {
  try {
    return readOwnCheckin(seatSecret, spaceId, checkin);
  } catch (error) {
    if (!(error instanceof SealedError)) throw error;
    console.warn('Mend could not open a private check-in on this device', error.reason);
    return null;
  }
}
