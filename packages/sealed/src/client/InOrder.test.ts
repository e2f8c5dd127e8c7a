import { listPartners, setDisplayName } from '@mend/model';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InOrder } from './InOrder.js';
import { SetAsideReason, type Receipt, type SetAside } from './SealedReplica.js';
import { ALEX, createdAndJoined, Device, SAM } from './testing/sealedSpace.js';

/** A space with Sam's three renames after the couple's set-up, and Alex's second device. */
function threeRenames() {
  const { space, alex, sam } = createdAndJoined();
  for (const name of ['S1', 'S2', 'S3']) {
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: name }));
  }
  const reader = new Device(space, ALEX, alex.identity);
  const receipts: { seq: number; receipt: Receipt }[] = [];
  const missing: SetAside[] = [];
  const askAgain = vi.fn();
  const inOrder = new InOrder(reader.replica, {
    receipt: (receipt, seq) => receipts.push({ seq, receipt }),
    missing: (entry) => missing.push(entry),
    askAgain,
  });
  const head = space.log.entries.length;
  const add = (seq: number) => inOrder.add(seq, space.log.entries[seq - 1]!, false);
  return { reader, inOrder, receipts, missing, askAgain, head, add };
}

const samName = (device: Device) => listPartners(device.doc).find((p) => p.id === SAM)?.displayName;

afterEach(() => {
  vi.useRealTimers();
});

describe('InOrder', () => {
  it('takes envelopes in by seq whatever order they came in, and waits for a missing one', () => {
    const { reader, inOrder, receipts, head, add } = threeRenames();
    for (let seq = head; seq >= 1; seq--) if (seq !== 2) add(seq);
    inOrder.drain();
    expect(receipts.map((r) => r.seq)).toEqual([1]);
    expect(inOrder.size).toBe(head - 2);
    add(2);
    inOrder.drain();
    expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    expect(receipts.every((r) => r.receipt.kind !== 'set-aside')).toBe(true);
    expect(samName(reader)).toBe('S3');
    expect(inOrder.size).toBe(0);
  });

  it('passes over what a complete backlog left out, says so once, and takes in the rest', () => {
    const { reader, inOrder, receipts, missing, head, add } = threeRenames();
    const dropped = head - 1; // S2: S3 then no longer continues Sam's chain
    for (let seq = 1; seq <= head; seq++) if (seq !== dropped) add(seq);
    inOrder.passOverMissing(head);
    expect(missing).toEqual([
      expect.objectContaining({ seq: dropped, reason: SetAsideReason.missing }),
    ]);
    expect(receipts.at(-1)).toEqual({
      seq: head,
      receipt: {
        kind: 'set-aside',
        entry: expect.objectContaining({ reason: SetAsideReason.outOfOrder }),
      },
    });
    expect(reader.replica.since).toBe(head);
    expect(samName(reader)).toBe('S1');
    expect(inOrder.size).toBe(0);
  });

  it('passes over a whole missing tail up to the head the server named', () => {
    const { reader, inOrder, missing, head, add } = threeRenames();
    for (let seq = 1; seq <= head - 2; seq++) add(seq);
    inOrder.passOverMissing(head);
    expect(missing.map((m) => [m.seq, m.detail])).toEqual([
      [head - 1, expect.stringMatching(new RegExp(`positions ${head - 1} to ${head}`))],
    ]);
    expect(reader.replica.since).toBe(head);
  });

  it('asks the server again when a gap lasts, and not when it closes in time', () => {
    vi.useFakeTimers();
    const { inOrder, askAgain, head, add } = threeRenames();
    add(head);
    inOrder.drain();
    vi.advanceTimersByTime(1_000);
    for (let seq = 1; seq < head; seq++) add(seq);
    inOrder.drain();
    vi.advanceTimersByTime(5_000);
    expect(askAgain).not.toHaveBeenCalled();

    const { inOrder: other, askAgain: asked, add: addOther } = threeRenames();
    addOther(3);
    other.drain();
    vi.advanceTimersByTime(2_000);
    expect(asked).toHaveBeenCalledTimes(1);
    other.dispose();
  });
});
