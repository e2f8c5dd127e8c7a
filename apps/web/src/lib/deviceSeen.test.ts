import { describe, expect, it } from 'vitest';
import { fetchLastSeen, parseLastSeen } from './deviceSeen';

const body = {
  devices: [
    { signingKey: 'a', partnerId: 'p', addedAt: 1, lastSeenAt: '2026-12-01T10:00:00.000Z' },
    { signingKey: 'b', lastSeenAt: 1_764_000_000_000 },
    { signingKey: 'c', lastSeenAt: null },
    { signingKey: 'd', lastSeenAt: 'yesterday' },
    { lastSeenAt: 5 },
    'junk',
  ],
};

describe('last seen, from the server', () => {
  it('reads ISO and millisecond times, leaving out what is not one', () => {
    expect(parseLastSeen(body)).toEqual(
      new Map([
        ['a', Date.parse('2026-12-01T10:00:00.000Z')],
        ['b', 1_764_000_000_000],
      ]),
    );
    expect(parseLastSeen({ devices: 'x' })).toBeNull();
    expect(parseLastSeen(null)).toBeNull();
  });

  it('is asked for with the space’s cookie, and anything but a 200 is not known', async () => {
    const asked: [string, RequestInit | undefined][] = [];
    const answer = (status: number, json: unknown) =>
      (async (url: string, init?: RequestInit) => {
        asked.push([url, init]);
        return new Response(JSON.stringify(json), { status });
      }) as unknown as typeof fetch;
    expect(await fetchLastSeen('s p', answer(200, body))).toHaveProperty('size', 2);
    expect(asked[0]![0]).toBe('/sync/s%20p/devices');
    expect(asked[0]![1]?.credentials).toBe('same-origin');
    expect(await fetchLastSeen('s', answer(404, body))).toBeNull();
    expect(await fetchLastSeen('s', answer(401, body))).toBeNull();
    const offline = (async () => {
      throw new TypeError('offline');
    }) as unknown as typeof fetch;
    expect(await fetchLastSeen('s', offline)).toBeNull();
    expect(await fetchLastSeen('s', answer(200, '<html>'))).toBeNull();
  });
});
