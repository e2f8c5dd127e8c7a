import { describe, expect, it } from 'vitest';
import { compactBytes, expandBytes, isHeld } from './compactBytes.js';

const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('compact bytes', () => {
  it('give back every byte value as it was held', () => {
    expect(expandBytes(compactBytes(everyByte))).toEqual(new Uint8Array(everyByte));
  });

  it('hold only the view they were given, not the rest of its buffer', () => {
    const view = everyByte.subarray(200, 232);
    expect(expandBytes(compactBytes(view))).toEqual(new Uint8Array(view));
  });

  it('are a copy: changing the bytes afterwards does not change what is held', () => {
    const key = Uint8Array.from(everyByte.subarray(0, 32));
    const held = compactBytes(key);
    key[0] = 255;
    expect(expandBytes(held)[0]).toBe(0);
  });

  it('tell the same bytes from others of the same length and from a prefix', () => {
    const key = everyByte.subarray(100, 132);
    const held = compactBytes(key);
    expect(isHeld(Uint8Array.from(key), held)).toBe(true);
    const other = Uint8Array.from(key, (byte, i) => (i === 31 ? byte ^ 0x80 : byte));
    expect(isHeld(other, held)).toBe(false);
    expect(isHeld(key.subarray(0, 31), held)).toBe(false);
  });
});
