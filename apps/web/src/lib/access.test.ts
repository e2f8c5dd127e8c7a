import type { SpaceId } from '@mend/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkAccess, readIdentity } from './access';

describe("the server's answer to who this device is", () => {
  const ids = { spaceId: 'S'.repeat(22), partnerId: 'P'.repeat(22) };

  it('reads a plaintext and a sealed answer', () => {
    expect(readIdentity(ids)).toEqual({ partnerId: ids.partnerId, sealed: false });
    expect(readIdentity({ ...ids, sealed: true, signingKey: 'k' })).toEqual({
      partnerId: ids.partnerId,
      sealed: true,
    });
  });

  it('refuses anything else', () => {
    for (const body of [null, 'x', [], {}, { ...ids, partnerId: 'short' }, { ...ids, sealed: 1 }]) {
      expect(readIdentity(body)).toBeNull();
    }
  });
});

describe('a refused device', () => {
  afterEach(() => vi.unstubAllGlobals());
  const spaceId = 'S'.repeat(22) as SpaceId;
  const answer = (status: number, body: unknown) =>
    vi.stubGlobal('fetch', () => Promise.resolve(new Response(JSON.stringify(body), { status })));

  it('is told apart from a removed one only by what the server says', async () => {
    answer(401, { error: 'This device was removed from the space.', removed: true });
    expect(await checkAccess(spaceId)).toEqual({ kind: 'removed' });
    // No credential, or a token the server does not know: nothing says it was removed, so the
    // copy on this device is kept.
    answer(401, { error: 'Not signed in.' });
    expect(await checkAccess(spaceId)).toEqual({ kind: 'not-member' });
    answer(401, { removed: 'yes' });
    expect(await checkAccess(spaceId)).toEqual({ kind: 'not-member' });
    answer(403, { removed: true });
    expect(await checkAccess(spaceId)).toEqual({ kind: 'not-member' });
  });
});
