import * as Y from 'yjs';

/**
 * Where structs are read: the log document's, or the document's and then the update's
 * (`Placement`). `from` gives the array holding a client's struct at `clock` and its index
 * there, so a walk over a client's clocks reads the structs after it in turn, not each by a
 * search.
 */
export interface Structs {
  structAt(id: Y.ID): Y.Item | Y.GC;
  from(client: number, clock: number): StructsFrom;
}

export interface StructsFrom {
  readonly structs: readonly (Y.Item | Y.GC)[];
  readonly index: number;
}

/** The structs of a document. */
export function structsOf(doc: Y.Doc): Structs {
  return {
    structAt: (id) => structIn(doc, id),
    from: (client, clock) => {
      const structs = doc.store.clients.get(client)!;
      return { structs, index: Y.findIndexSS(structs, clock) };
    },
  };
}

/** What an item of an update names: its id, its neighbours and its parent (an item's type). */
export interface ItemReferences {
  readonly id: Y.ID;
  readonly origin: Y.ID | null;
  readonly rightOrigin: Y.ID | null;
  readonly parent: Y.ID | null;
}

/** The struct of `doc` holding the id, which `doc` has. */
export function structIn(doc: Y.Doc, id: Y.ID): Y.Item | Y.GC {
  const structs = doc.store.clients.get(id.client)!;
  return structs[Y.findIndexSS(structs, id.clock)]!;
}

export function referencesOf(item: Y.Item): ItemReferences {
  return {
    id: item.id,
    origin: item.origin,
    rightOrigin: item.rightOrigin,
    parent: item.parent instanceof Y.ID ? item.parent : null,
  };
}

/**
 * What a writer had in its document when it wrote an item, at least: what the item names and
 * its own client's earlier items, closed under what a Yjs document always holds with an item:
 * every earlier item of its client (a document holds a client's items from clock 0 on) and
 * whatever it names (Yjs integrates nothing before that). Kept as the highest clock known of
 * each client. A lower bound: a garbage-collected struct no longer says what it named.
 *
 * Built by a work-list: when a client's known clock rises, the structs of the clocks it rose over
 * raise the clocks of what they name. Each struct is visited once, so the cost is at most one
 * look-up per struct of the document and the update, however many items of one client are
 * weighed (`writing`, in clock order: what a writer had for an item it still had for its next).
 */
export class WriterKnowledge {
  readonly #structs: Structs;
  readonly #highest = new Map<number, number>();
  readonly #rose: { client: number; from: number; to: number }[] = [];
  /** The clock of the item last taken in. */
  #clock = -1;

  /** What the writer had at least before this grew: closed already (`LogKnowledge`). */
  readonly #base: WriterKnowledge | null;

  constructor(structs: Structs, base: WriterKnowledge | null = null) {
    this.#structs = structs;
    this.#base = base;
  }

  /** Whether this can weigh `item` (its client's, after those taken in before). */
  canTake(item: ItemReferences): boolean {
    return item.id.clock >= this.#clock;
  }

  /** What the writer had when it wrote `item`: this, grown by what `item` says it had. */
  writing(item: ItemReferences): this {
    const { client, clock } = item.id;
    this.#clock = clock;
    if (clock > 0) this.#learn(Y.createID(client, clock - 1));
    for (const id of [item.origin, item.rightOrigin, item.parent]) if (id) this.#learn(id);
    this.#close();
    return this;
  }

  /** Whether the writer had the character `id`. */
  knows(id: Y.ID): boolean {
    return id.clock <= this.#highestOf(id.client);
  }

  #highestOf(client: number): number {
    const own = this.#highest.get(client) ?? -1;
    return this.#base ? Math.max(own, this.#base.#highestOf(client)) : own;
  }

  /**
   * Grows this by the character `id` and everything it implies, reading only the structs
   * `structs` holds (for `LogKnowledge`, the log document's).
   */
  learnClosed(id: Y.ID): void {
    this.#learn(id);
    this.#close();
  }

  #learn(id: Y.ID): void {
    const was = this.#highestOf(id.client);
    if (id.clock <= was) return;
    this.#highest.set(id.client, id.clock);
    this.#rose.push({ client: id.client, from: was + 1, to: id.clock });
  }

  #close(): void {
    for (let range = this.#rose.pop(); range; range = this.#rose.pop()) {
      const { client, from, to } = range;
      for (let clock = from; clock <= to;) {
        // One array at a time: the document's, then (in a `Placement`) the update's.
        const { structs, index } = this.#structs.from(client, clock);
        const was = clock;
        for (let i = index; i < structs.length && clock <= to; i++) {
          const struct = structs[i]!;
          // A struct beginning below `from` holds the clock the client was known to before: it
          // was visited when that clock was learnt.
          if (struct instanceof Y.Item && struct.id.clock >= from) this.#learnNamedBy(struct);
          clock = struct.id.clock + struct.length;
        }
        if (clock === was) throw new Error(`no struct of client ${client} at clock ${clock}`);
      }
    }
  }

  /** An integrated item holds its parent as a type; one of the update, as an id. */
  #learnNamedBy(item: Y.Item): void {
    if (item.origin) this.#learn(item.origin);
    if (item.rightOrigin) this.#learn(item.rightOrigin);
    const parent = item.parent;
    if (parent instanceof Y.ID) this.#learn(parent);
    else if (parent instanceof Y.AbstractType && parent._item) this.#learn(parent._item.id);
  }
}
