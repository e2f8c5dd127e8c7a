import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { YView } from './YView.svelte.js';

function watch<T>(read: () => T): { seen: T[]; stop: () => void } {
  const seen: T[] = [];
  const stop = $effect.root(() => {
    $effect(() => {
      seen.push(read());
    });
  });
  flushSync();
  return { seen, stop };
}

describe('a reactive view of a Yjs document', () => {
  it('updates what is on screen when a remote change arrives', () => {
    const local = new Y.Doc();
    const remote = new Y.Doc();
    const items = local.getMap<string>('items');
    const view = new YView([items], () => [...items.values()].sort());
    const { seen, stop } = watch(() => view.current);

    remote.getMap<string>('items').set('a', 'first agreement');
    Y.applyUpdate(local, Y.encodeStateAsUpdate(remote));
    flushSync();

    expect(seen).toEqual([[], ['first agreement']]);
    stop();
  });

  it('does not recompute when a part of the space it does not watch changes', () => {
    const doc = new Y.Doc();
    const agreements = doc.getMap('agreements');
    const checkins = doc.getMap('checkins');
    let reads = 0;
    const view = new YView([agreements], () => {
      reads++;
      return agreements.size;
    });
    const { seen, stop } = watch(() => view.current);

    checkins.set('2026-01-01', 'calm');
    flushSync();
    expect(reads).toBe(1);

    agreements.set('x', 'y');
    flushSync();
    expect(reads).toBe(2);
    expect(seen).toEqual([0, 1]);
    stop();
  });

  it('sees changes deep inside the watched type, such as typing into a Y.Text', () => {
    const doc = new Y.Doc();
    const agreements = doc.getMap<Y.Map<unknown>>('agreements');
    const agreement = new Y.Map<unknown>();
    agreements.set('a1', agreement);
    const body = new Y.Text('We talk');
    agreement.set('body', body);
    const view = new YView([agreements], () => String(agreements.get('a1')?.get('body')));
    const { seen, stop } = watch(() => view.current);

    body.insert(7, ' every evening');
    flushSync();
    expect(seen.at(-1)).toBe('We talk every evening');
    stop();
  });

  it('reads fresh values outside any effect, without subscribing', () => {
    const doc = new Y.Doc();
    const map = doc.getMap<number>('m');
    const view = new YView(doc, () => map.get('n') ?? 0);
    expect(view.current).toBe(0);
    map.set('n', 3);
    expect(view.current).toBe(3);
  });

  it('stops listening to Yjs once nothing on screen reads it', async () => {
    const doc = new Y.Doc();
    const map = doc.getMap<number>('m');
    let reads = 0;
    const view = new YView(doc, () => {
      reads++;
      return map.size;
    });
    const { stop } = watch(() => view.current);
    stop();
    // The subscriber count drops in a microtask (svelte's createSubscriber).
    await Promise.resolve();
    const before = reads;
    map.set('a', 1);
    flushSync();
    expect(reads).toBe(before);
  });
});
