import { Limits } from '@mend/model';
import { describe, expect, it } from 'vitest';
import { inviteLink, readInvite } from './invite';

describe('the invite link', () => {
  it('carries the code, the inviter and the space name in its fragment only', () => {
    const link = inviteLink(
      'https://mend.example',
      'S'.repeat(22),
      { code: 'c0de_-', sealed: false },
      {
        from: 'Alex & Kim',
        space: 'Our space',
      },
    );
    const url = new URL(link);
    expect(url.pathname).toBe(`/join/${'S'.repeat(22)}`);
    expect(url.search).toBe('');
    expect(readInvite(url.hash)).toEqual({
      code: 'c0de_-',
      sealed: false,
      from: 'Alex & Kim',
      spaceName: 'Our space',
    });
  });

  it('leaves out a space name that is empty', () => {
    const link = inviteLink(
      'https://mend.example',
      'S'.repeat(22),
      { code: 'code', sealed: false },
      { from: 'Alex' },
    );
    expect(new URL(link).hash).toBe('#code=code&from=Alex');
    expect(readInvite(new URL(link).hash).spaceName).toBeNull();
  });

  it('reads a link from before the names were added', () => {
    expect(readInvite('#code=abc')).toEqual({
      code: 'abc',
      sealed: false,
      from: null,
      spaceName: null,
    });
  });

  it('carries a sealed space’s invite secret as `s`, and reads it back as sealed', () => {
    const secret = 'k'.repeat(43);
    const link = inviteLink(
      'https://mend.example',
      'S'.repeat(22),
      { code: secret, sealed: true },
      {
        from: 'Sam',
      },
    );
    expect(new URL(link).hash).toBe(`#s=${secret}&from=Sam`);
    expect(readInvite(new URL(link).hash)).toEqual({
      code: secret,
      sealed: true,
      from: 'Sam',
      spaceName: null,
    });
  });

  it('cuts names from a link to the model limits and drops characters that hide what they say', () => {
    const long = '🌱'.repeat(Limits.displayName + 5);
    const invite = readInvite(
      `#code=abc&from=${encodeURIComponent(long)}&space=${encodeURIComponent('\u202Eecaps ruO\u0007')}`,
    );
    expect([...(invite.from ?? '')]).toHaveLength(Limits.displayName);
    expect(invite.spaceName).toBe('ecaps ruO');
    expect(readInvite('#code=abc&from=%20%20').from).toBeNull();
  });
});
