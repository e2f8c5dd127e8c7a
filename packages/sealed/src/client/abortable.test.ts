import { describe, expect, it } from 'vitest';
import { abortable } from './abortable.js';

class Cancelled extends Error {}
const cancelled = () => new Cancelled('cancelled');

describe('abortable', () => {
  it('gives the promise’s value, or its error, while the signal stays quiet', async () => {
    const controller = new AbortController();
    await expect(abortable(Promise.resolve(7), controller.signal, cancelled)).resolves.toBe(7);
    const failure = new Error('the server said no');
    await expect(abortable(Promise.reject(failure), controller.signal, cancelled)).rejects.toBe(
      failure,
    );
  });

  it('ends the wait with the flow’s own error as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const waiting = abortable(new Promise<number>(() => {}), controller.signal, cancelled);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(Cancelled);
  });

  it('does not wait at all on a signal that already aborted', async () => {
    await expect(
      abortable(Promise.resolve(1), AbortSignal.abort(), cancelled),
    ).rejects.toBeInstanceOf(Cancelled);
  });

  it('an abort after the promise settled changes nothing', async () => {
    const controller = new AbortController();
    let made = 0;
    const done = abortable(Promise.resolve('kept'), controller.signal, () => {
      made += 1;
      return cancelled();
    });
    await expect(done).resolves.toBe('kept');
    controller.abort();
    expect(made).toBe(0);
  });
});
