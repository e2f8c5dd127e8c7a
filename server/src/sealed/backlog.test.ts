import { SealedMessage } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { backlogParts } from './backlog.js';

const envelope = (bytes: number) => new Uint8Array(bytes);

describe('a backlog', () => {
  it('with nothing to send is one empty part, marked last, naming the head', () => {
    expect(backlogParts({ snapshot: null, envelopes: [], head: 7 })).toEqual([
      { type: SealedMessage.backlog, head: 7, last: true, entries: [] },
    ]);
  });

  it('starts with the snapshot at the seq it covers', () => {
    const [part] = backlogParts({
      snapshot: { coversSeq: 4, envelope: envelope(10) },
      envelopes: [{ seq: 5, envelope: envelope(10) }],
      head: 5,
    });
    expect(part?.type === SealedMessage.backlog && part.entries.map((e) => e.seq)).toEqual([4, 5]);
  });

  it('keeps each part within its size, and sends an envelope larger than a part alone', () => {
    const parts = backlogParts(
      {
        snapshot: null,
        envelopes: [
          { seq: 1, envelope: envelope(300) },
          { seq: 2, envelope: envelope(300) },
          { seq: 3, envelope: envelope(2000) },
          { seq: 4, envelope: envelope(100) },
        ],
        head: 4,
      },
      1000,
    );
    expect(
      parts.map((p) => (p.type === SealedMessage.backlog ? p.entries.map((e) => e.seq) : [])),
    ).toEqual([[1, 2], [3], [4]]);
    expect(parts.map((p) => p.type === SealedMessage.backlog && p.last)).toEqual([
      false,
      false,
      true,
    ]);
  });
});
