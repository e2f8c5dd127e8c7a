import * as Y from 'yjs';
import { waitForDoc } from './clients.js';

/**
 * How many streamed edits a writer may have in flight ahead of what the reader received: a server
 * killed during a stream always dies mid-stream, with at most this many edits the reader lacks.
 */
export const STREAM_WINDOW = 8;

/** The items of the shared `edits` array that start with `prefix`. */
export function editsWithPrefix(doc: Y.Doc, prefix = ''): string[] {
  return doc
    .getArray<string>('edits')
    .toArray()
    .filter((edit) => edit.startsWith(prefix));
}

/**
 * `writer` appends `<prefix><n>` items to the `edits` array, keeping at most STREAM_WINDOW of
 * them ahead of what `reader` has received: a steady stream driven by the reader's updates, not by a clock.
 * Resolves once the reader has received `count` of them; the stream goes on until `stop()`.
 */
export async function streamEdits(
  writer: Y.Doc,
  reader: Y.Doc,
  prefix: string,
  count: number,
): Promise<{ stop: () => void; written: () => number }> {
  let written = 0;
  let stopped = false;
  const received = (): number => editsWithPrefix(reader, prefix).length;
  const topUp = (): void => {
    while (!stopped && written - received() < STREAM_WINDOW) {
      writer.getArray<string>('edits').push([`${prefix}${written}`]);
      written++;
    }
  };
  reader.on('update', topUp);
  const stop = (): void => {
    stopped = true;
    reader.off('update', topUp);
  };
  topUp();
  try {
    await waitForDoc(reader, () => received() >= count, `${count} streamed edits at the reader`);
  } catch (error) {
    stop();
    throw error;
  }
  return { stop, written: () => written };
}

/** A detached copy of a document's current content. */
export function copyDoc(doc: Y.Doc): Y.Doc {
  const clone = new Y.Doc();
  Y.applyUpdate(clone, Y.encodeStateAsUpdate(doc));
  return clone;
}
