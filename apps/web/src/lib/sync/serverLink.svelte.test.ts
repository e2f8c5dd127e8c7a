import { afterEach, describe, expect, it, vi } from 'vitest';
import { reconnectDelay } from './backoff.js';
import { LinkState } from './serverLink.svelte.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('where a device stands with the server', () => {
  it('keeps a refusal for good, and leaves a pause only for a refusal', () => {
    const link = new LinkState();
    link.to({ kind: 'paused' });
    link.synced();
    link.to({ kind: 'unreachable' });
    expect(link.current).toEqual({ kind: 'paused' });

    link.to({ kind: 'refused', refusal: 'removed' });
    link.to({ kind: 'connecting' });
    link.synced();
    expect(link.current).toEqual({ kind: 'refused', refusal: 'removed' });
  });

  it('goes back to trying when the socket closes once synced, and only then', () => {
    const link = new LinkState();
    link.synced();
    link.notSynced();
    expect(link.current).toEqual({ kind: 'connecting' });
    link.to({ kind: 'full' });
    link.notSynced();
    expect(link.current).toEqual({ kind: 'full' });
  });

  it('tries again after a delay that grows with each failed try, and from the start once synced or asked', () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const link = new LinkState();
    let tries = 0;
    const connect = () => (tries += 1);

    link.retry(connect);
    vi.advanceTimersByTime(reconnectDelay(1));
    expect(tries).toBe(1);
    link.retry(connect);
    vi.advanceTimersByTime(reconnectDelay(1));
    expect(tries).toBe(1); // the second try waits longer
    vi.advanceTimersByTime(reconnectDelay(2));
    expect(tries).toBe(2);

    link.synced();
    link.retry(connect);
    vi.advanceTimersByTime(reconnectDelay(1));
    expect(tries).toBe(3);

    link.retry(connect);
    link.restart(); // a person's "Try again" connects at once: no try stays planned
    vi.advanceTimersByTime(60_000);
    expect(tries).toBe(3);
    vi.restoreAllMocks();
  });

  it('keeps no try planned once the space is full, stopped for an update or refused; asked again, a full space is tried', () => {
    vi.useFakeTimers();
    let tries = 0;
    const connect = () => (tries += 1);
    for (const state of [
      { kind: 'full' },
      { kind: 'paused' },
      { kind: 'refused', refusal: 'deleted' },
    ] as const) {
      const link = new LinkState();
      link.retry(connect);
      link.to(state);
      vi.advanceTimersByTime(60_000);
      expect(tries).toBe(0);
    }

    const full = new LinkState();
    full.to({ kind: 'full' });
    full.restart();
    expect(full.current).toEqual({ kind: 'connecting' });
  });
});
