import { equalBytes, toBase64Url } from '../bytes.js';
import type { RemovalSession } from './removal.js';

// Apart from removal.ts, which it is part of: the app asks on every sync, from the code it loads
// first, and this needs none of what writes the new key.

/**
 * Whether this device moves the space to a new key now that both partners are in
 * (docs/protocol.md, "A new key once the partner has joined"): the space is still under its
 * first key, the one the invite link's welcome box carried, and this device is the joining
 * seat's first device, a member now, so exactly one device does it. Cheap: the app asks each
 * time it syncs, and loads the rest only when it is true.
 */
export function rotatesAfterJoin(session: Pick<RemovalSession, 'replica' | 'membership'>): boolean {
  const { replica, membership } = session;
  if (replica.standing.epoch !== 1) return false;
  const me = membership.identity.signing.publicKey;
  if (equalBytes(me, membership.creator)) return false;
  const key = toBase64Url(me);
  const mine = replica.devices().find((d) => d.signingKey === key);
  return mine !== undefined && mine.linkedBy === null && replica.standing.isCurrent(key);
}
