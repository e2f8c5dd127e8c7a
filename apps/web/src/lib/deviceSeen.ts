/**
 * When the server last saw each device of a space (`GET /sync/<id>/devices`): what the devices
 * page shows as "last seen". Only the server knows it; a server without the route, a refusal or
 * a body that is not one is "not known", said by showing nothing.
 */
export type LastSeen = ReadonlyMap<string, number>;

/** The devices' last-seen times by signing key, or null when they are not known. */
export async function fetchLastSeen(
  spaceId: string,
  fetcher: typeof fetch = fetch,
): Promise<LastSeen | null> {
  try {
    const response = await fetcher(`/sync/${encodeURIComponent(spaceId)}/devices`, {
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (response.status !== 200) return null;
    return parseLastSeen(await response.json());
  } catch {
    return null;
  }
}

/**
 * `{ devices: [{ signingKey, lastSeenAt, ... }] }` → signing key → time in ms. A time may be
 * milliseconds or ISO 8601; an entry without a usable one is left out, a body that is not a list
 * of devices is null.
 */
export function parseLastSeen(body: unknown): LastSeen | null {
  if (typeof body !== 'object' || body === null) return null;
  const devices = (body as { devices?: unknown }).devices;
  if (!Array.isArray(devices)) return null;
  const seen = new Map<string, number>();
  for (const device of devices as unknown[]) {
    if (typeof device !== 'object' || device === null) continue;
    const { signingKey, lastSeenAt } = device as Record<string, unknown>;
    const at = timeOf(lastSeenAt);
    if (typeof signingKey === 'string' && at !== null) seen.set(signingKey, at);
  }
  return seen;
}

function timeOf(value: unknown): number | null {
  const at = typeof value === 'string' ? Date.parse(value) : value;
  return typeof at === 'number' && Number.isFinite(at) && at > 0 ? at : null;
}
