import { describe, expect, it } from 'vitest';
import { afterClose, reconnectDelay } from './backoff.js';

describe('reconnect delay', () => {
  it('grows exponentially up to a ceiling', () => {
    const noJitter = () => 1;
    expect(reconnectDelay(1, noJitter)).toBe(500);
    expect(reconnectDelay(2, noJitter)).toBe(1000);
    expect(reconnectDelay(3, noJitter)).toBe(2000);
    expect(reconnectDelay(30, noJitter)).toBe(30_000);
  });

  it('spreads retries between half and all of the ceiling, so devices do not retry in step', () => {
    expect(reconnectDelay(4, () => 0)).toBe(2000);
    expect(reconnectDelay(4, () => 0.5)).toBe(3000);
    const delays = new Set(Array.from({ length: 20 }, (_, i) => reconnectDelay(5, () => i / 20)));
    expect(delays.size).toBe(20);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });
});

describe('after the sync socket closes', () => {
  it('gives up only when the server says the space no longer exists, or this device was removed', () => {
    expect(afterClose(4404, true, true)).toBe('deleted');
    expect(afterClose(4404, false, true)).toBe('deleted');
    expect(afterClose(4401, true, true)).toBe('revoked');
    expect(afterClose(4401, true, false)).toBe('revoked');
  });

  it('keeps the local copy and retries when the server refused something this device sent', () => {
    expect(afterClose(4400, true, true)).toBe('retry');
    expect(afterClose(4413, true, true)).toBe('retry');
    expect(afterClose(1001, true, true)).toBe('retry');
  });

  it('stops retrying when the space is full, since a retry would send the refused change again', () => {
    expect(afterClose(4507, true, true)).toBe('full');
    expect(afterClose(4507, false, true)).toBe('full');
  });

  it('asks the server why when a socket never opened while the device is online', () => {
    expect(afterClose(1006, false, true)).toBe('ask-server');
    expect(afterClose(1006, false, false)).toBe('retry');
  });
});
