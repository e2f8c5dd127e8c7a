import { PrivateScope, type CheckinSnapshot, type CheckinState, type PartnerId } from '@mend/model';
import type { OwnCheckin } from '@mend/sealed';

/** A day of felt safety as Progress shows it to this partner. */
export interface SafetyPoint {
  readonly date: string;
  /** Null: the other partner kept this day's check-in to themselves. */
  readonly safety: number | null;
  readonly state: CheckinState | null;
  /** What of it was kept private (this partner's own, opened; or only that it exists). */
  readonly private: PrivateScope | null;
}

/**
 * One partner's check-ins from `from` to `to` as this partner (`me`) can read them: their own
 * with what they kept private opened by `readOwn` (a day that does not open yet is left out), the
 * other's as shared, a day they kept private whole as a point without values.
 */
export function safetyPoints(
  checkins: readonly CheckinSnapshot[],
  partnerId: PartnerId,
  me: PartnerId,
  readOwn: (checkin: CheckinSnapshot) => OwnCheckin | null | undefined,
  from: string,
  to: string,
): SafetyPoint[] {
  const points: SafetyPoint[] = [];
  for (const c of checkins) {
    if (c.partnerId !== partnerId || c.date < from || c.date > to) continue;
    if (partnerId === me) {
      const own = readOwn(c);
      if (own)
        points.push({ date: c.date, safety: own.safety, state: own.state, private: c.private });
    } else if (c.private === PrivateScope.checkin) {
      points.push({ date: c.date, safety: null, state: null, private: c.private });
    } else {
      points.push({ date: c.date, safety: c.safety, state: c.state, private: c.private });
    }
  }
  return points;
}
