import { Limits } from '@mend/model';
import { describe, expect, it } from 'vitest';
import { nameLength, nameLengthHint, nameTooLong } from './nameLength';

describe('a name against its limit', () => {
  it('says nothing while the name is far from its limit', () => {
    expect(nameLength('Alex', Limits.displayName)).toEqual({ kind: 'fine' });
    expect(nameLengthHint('Alex', Limits.displayName)).toBe('');
  });

  it('counts what is left near the limit', () => {
    const name = 'x'.repeat(Limits.displayName - 3);
    expect(nameLengthHint(name, Limits.displayName)).toBe('3 characters left.');
    expect(nameTooLong('Your name', name, Limits.displayName)).toBeNull();
  });

  it('says how much too long a name is, instead of cutting it', () => {
    const name = 'x'.repeat(Limits.displayName + 1);
    expect(nameLengthHint(name, Limits.displayName)).toBe(
      `1 character too long: this can be up to ${Limits.displayName} characters.`,
    );
    expect(nameTooLong('Your name', name, Limits.displayName)).toBe(
      `Your name is 1 character too long. Please shorten it to ${Limits.displayName} characters or fewer.`,
    );
  });

  it('counts an emoji as one character, as the model does', () => {
    const emoji = '🌱'.repeat(Limits.displayName);
    expect(emoji.length).toBe(2 * Limits.displayName);
    expect(nameLength(emoji, Limits.displayName)).toEqual({ kind: 'near', left: 0 });
  });

  it('does not count spaces around a name, which are not saved', () => {
    expect(nameLength(`  ${'x'.repeat(Limits.spaceName)}  `, Limits.spaceName).kind).toBe('near');
  });
});
