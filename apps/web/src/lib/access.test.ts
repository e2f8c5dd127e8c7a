import { describe, expect, it } from 'vitest';
import { readIdentity } from './access';

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
