import { isPartnerId, isSpaceId, type PartnerId, type SpaceId } from '@mend/protocol';

/**
 * What the server says about this device's access to a space (docs/api.md, GET /sync/:spaceId).
 * Apart from api.ts and read without a schema library: every open space asks this, so it is
 * first-load code, and the answer has three fields.
 */
export type Access =
  | { kind: 'allowed'; partnerId: PartnerId; sealed: boolean }
  | { kind: 'deleted' }
  | { kind: 'not-member' }
  /** The token was revoked: this device left, or another device removed it (docs/api.md). */
  | { kind: 'removed' }
  | { kind: 'unreachable' };

export async function checkAccess(spaceId: SpaceId): Promise<Access> {
  let response: Response;
  try {
    response = await fetch(`/sync/${encodeURIComponent(spaceId)}`, {
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    return { kind: 'unreachable' };
  }
  if (response.status === 404) return { kind: 'deleted' };
  if (response.status === 401 || response.status === 403) {
    const body = (await response.json().catch(() => null)) as { removed?: unknown } | null;
    return { kind: response.status === 401 && body?.removed === true ? 'removed' : 'not-member' };
  }
  if (response.ok) {
    const identity = readIdentity(await response.json().catch(() => null));
    if (identity) return { kind: 'allowed', ...identity };
  }
  return { kind: 'unreachable' };
}

/** `{"spaceId", "partnerId", "sealed"?}`, or null for anything else. */
export function readIdentity(body: unknown): { partnerId: PartnerId; sealed: boolean } | null {
  if (typeof body !== 'object' || body === null) return null;
  const { spaceId, partnerId, sealed } = body as Record<string, unknown>;
  if (!isSpaceId(spaceId) || !isPartnerId(partnerId)) return null;
  if (sealed !== undefined && typeof sealed !== 'boolean') return null;
  return { partnerId, sealed: sealed === true };
}
