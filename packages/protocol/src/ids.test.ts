import { describe, expect, it } from 'vitest';
import { isSpaceId } from './ids.js';

describe('space ids', () => {
  it('accepts 16 to 64 URL-safe characters and nothing else', () => {
    expect(isSpaceId('abcdefghijklmnop')).toBe(true);
    expect(isSpaceId('a'.repeat(64))).toBe(true);
    expect(isSpaceId('a'.repeat(15))).toBe(false);
    expect(isSpaceId('a'.repeat(65))).toBe(false);
    expect(isSpaceId('abcdefghijklmno/')).toBe(false);
    expect(isSpaceId(42)).toBe(false);
  });
});
