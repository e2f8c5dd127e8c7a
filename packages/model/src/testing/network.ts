// Test support only (excluded from the build): replicas that exchange updates in any order.
import * as Y from 'yjs';

const REMOTE = Symbol('remote');

/**
 * Replicas of one base document. Every local update is queued for every other replica; the test
 * decides what arrives where and when, with duplicates, so out-of-order delivery (and what Yjs
 * parks meanwhile) is exercised.
 */
export class Network {
  readonly docs: Y.Doc[];
  readonly pending: { to: number; update: Uint8Array }[] = [];

  constructor(base: Y.Doc, replicas: number) {
    const snapshot = Y.encodeStateAsUpdate(base);
    this.docs = Array.from({ length: replicas }, (_, i) => {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, snapshot, REMOTE);
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin === REMOTE) return;
        for (let to = 0; to < replicas; to++) if (to !== i) this.pending.push({ to, update });
      });
      return doc;
    });
  }

  deliver(to: number, pickIndex: number, duplicate: boolean): void {
    const mine = this.pending.filter((m) => m.to === to);
    if (mine.length === 0) return;
    const message = mine[pickIndex % mine.length]!;
    Y.applyUpdate(this.docs[to]!, message.update, REMOTE);
    if (!duplicate) this.pending.splice(this.pending.indexOf(message), 1);
  }

  /** Delivers everything still queued, in an order shuffled by `seed`. */
  flush(seed: number): void {
    let s = seed >>> 0 || 1;
    while (this.pending.length > 0) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const [message] = this.pending.splice(s % this.pending.length, 1);
      Y.applyUpdate(this.docs[message!.to]!, message!.update, REMOTE);
    }
  }
}
