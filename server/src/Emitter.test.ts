import { describe, expect, it } from 'vitest';
import { Emitter } from './Emitter.js';

interface Events {
  failed: (reason: string) => void;
  count: (n: number, of: number) => void;
}

describe('Emitter', () => {
  it('calls every listener of an event, in the order they were added, with its arguments', () => {
    const emitter = new Emitter<Events>();
    const heard: string[] = [];
    emitter.on('failed', (reason) => heard.push(`first ${reason}`));
    emitter.on('failed', (reason) => heard.push(`second ${reason}`));
    emitter.on('count', (n, of) => heard.push(`${n}/${of}`));
    emitter.emit('failed', 'storage');
    expect(heard).toEqual(['first storage', 'second storage']);
  });

  it('a listener that unsubscribes hears nothing more, and the others still do', () => {
    const emitter = new Emitter<Events>();
    const heard: string[] = [];
    const stop = emitter.on('failed', () => heard.push('stopped'));
    emitter.on('failed', () => heard.push('still'));
    stop();
    stop();
    emitter.emit('failed', 'storage');
    expect(heard).toEqual(['still']);
  });

  it('the same function added twice is called twice, and each unsubscribe removes one', () => {
    const emitter = new Emitter<Events>();
    let calls = 0;
    const listener = (): void => {
      calls += 1;
    };
    const stopFirst = emitter.on('failed', listener);
    emitter.on('failed', listener);
    emitter.emit('failed', 'x');
    stopFirst();
    emitter.emit('failed', 'x');
    expect(calls).toBe(3);
  });

  it('a listener removed while an event is emitted is still called for that event', () => {
    const emitter = new Emitter<Events>();
    const heard: string[] = [];
    let stopSecond = (): void => {};
    emitter.on('failed', () => {
      heard.push('first');
      stopSecond();
    });
    stopSecond = emitter.on('failed', () => heard.push('second'));
    emitter.emit('failed', 'x');
    emitter.emit('failed', 'x');
    expect(heard).toEqual(['first', 'second', 'first']);
  });
});
