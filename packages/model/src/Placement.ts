import * as Y from 'yjs';
import { findStruct, type KnownClock, type ShapedUpdate } from './updateShape.js';
import type { Structs, StructsFrom } from './WriterKnowledge.js';

/** Any shared type of a document, as Yjs types them. */
export type SharedType = Y.Doc['share'] extends Map<string, infer T> ? T : never;

/** A type's place: a root, by name, or the item that holds the type. */
export type Container = string | Y.Item;

/** Where an item sits: in a container, under a map key, or as a sequence element (key null). */
export interface Spot {
  readonly container: Container;
  readonly key: string | null;
}

/**
 * Where the items of an update (whose shape is sound) land in a document, found the way Yjs
 * finds it while applying, without applying anything: an item names its parent, or inherits
 * its left (else right) neighbour's; an item next to a garbage-collected struct, or inside
 * something that is not a type, is integrated as garbage and changes nothing. Ids below the
 * known clocks are looked up in the document's store, the others in the update. Reads the
 * document, never writes it (not even a root: `doc.get` would create one).
 */
export class Placement implements Structs {
  readonly #doc: Y.Doc;
  readonly #update: ShapedUpdate;
  readonly #known: KnownClock;
  /** The update's items the document does not have yet, in update order. */
  readonly fresh: readonly Y.Item[];
  readonly #fresh: ReadonlySet<Y.Item>;
  readonly #spots = new Map<Y.Item, Spot | null>();
  readonly #rootNames = new Map<unknown, string>();
  /** The update's deletions by client, sorted by clock, for `deletedByUpdate`. */
  readonly #deletions = new Map<number, { clock: number; len: number }[]>();

  /** The document the update is placed in (the log), without the update. */
  get log(): Y.Doc {
    return this.#doc;
  }

  /** `known`: the document's clocks (`Y.getState`), as the shape check read them. */
  constructor(doc: Y.Doc, update: ShapedUpdate, known: KnownClock) {
    this.#doc = doc;
    this.#update = update;
    this.#known = known;
    // Yjs skips what it already has; a struct is either wholly known or wholly new (the shape
    // check refuses items known in part).
    this.fresh = update.structs.filter(
      (s): s is Y.Item => s instanceof Y.Item && s.id.clock >= known(s.id.client),
    );
    this.#fresh = new Set(this.fresh);
    for (const { client, clock, len } of update.deletions) {
      let ranges = this.#deletions.get(client);
      if (!ranges) this.#deletions.set(client, (ranges = []));
      ranges.push({ clock, len });
    }
    for (const ranges of this.#deletions.values()) ranges.sort((a, b) => a.clock - b.clock);
  }

  get deletions(): ShapedUpdate['deletions'] {
    return this.#update.deletions;
  }

  isFresh(item: Y.Item): boolean {
    return this.#fresh.has(item);
  }

  /** Whether the document (rather than the update) holds `id`. */
  isKnown(id: Y.ID): boolean {
    return id.clock < this.#known(id.client);
  }

  /** The struct holding `id` once the update's earlier structs are in. */
  structAt(id: Y.ID): Y.Item | Y.GC {
    const { structs, index } = this.from(id.client, id.clock);
    return structs[index]!;
  }

  /**
   * The array holding `client`'s struct at `clock` and its index there: the document's up to
   * what it holds of the client, then the update's (`Structs`).
   */
  from(client: number, clock: number): StructsFrom {
    if (clock < this.#known(client)) {
      const structs = this.#doc.store.clients.get(client)!;
      return { structs, index: Y.findIndexSS(structs, clock) };
    }
    const { structs } = this.#update.runs.get(client)!;
    return { structs, index: findStruct(structs, clock) };
  }

  /** Where `item` sits once the update is applied; null when Yjs turns it into garbage. */
  spotOf(item: Y.Item): Spot | null {
    if (!this.#fresh.has(item)) return this.#spotInDoc(item);
    // Typing makes each item's spot depend on its left neighbour's, in chains as long as the
    // text: resolve them with a stack, deepest first, never by recursion.
    const stack = [item];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (this.#spots.has(top)) {
        stack.pop();
        continue;
      }
      const next = this.#neighbours(top).find((n) => this.#isUnresolved(n));
      if (next instanceof Y.Item) {
        stack.push(next);
        continue;
      }
      this.#spots.set(top, this.#resolve(top));
      stack.pop();
    }
    return this.#spots.get(item)!;
  }

  /** The document's type for a container, or null when it has none (yet). */
  typeOf(container: Container): SharedType | null {
    if (typeof container === 'string') return this.#doc.share.get(container) ?? null;
    return container.content instanceof Y.ContentType ? container.content.type : null;
  }

  /** Whether the document ever held a value at `key` of the container (deleted or not). */
  wasSet(container: Container, key: string): boolean {
    return this.typeOf(container)?._map.has(key) ?? false;
  }

  /** The document's items ever written at `key` of the container, left to right. */
  writtenAt(container: Container, key: string): Y.Item[] {
    const out: Y.Item[] = [];
    for (let item = this.typeOf(container)?._map.get(key) ?? null; item; item = item.left) {
      out.push(item);
    }
    return out.reverse();
  }

  /**
   * The items a deletion range covers that are not deleted yet: the document's below the
   * known clocks, the update's above. Deleting a GC'd or deleted item again changes nothing.
   */
  deletedItems(range: { client: number; clock: number; len: number }): Y.Item[] {
    const out: Y.Item[] = [];
    const end = range.clock + range.len;
    const known = this.#known(range.client);
    if (range.clock < known) {
      const structs = this.#doc.store.clients.get(range.client)!;
      const stop = Math.min(end, known);
      for (let i = Y.findIndexSS(structs, range.clock); i < structs.length; i++) {
        const struct = structs[i]!;
        if (struct.id.clock >= stop) break;
        if (struct instanceof Y.Item && !struct.deleted) out.push(struct);
      }
    }
    if (end > known) {
      const structs = this.#update.runs.get(range.client)!.structs;
      const from = Math.max(range.clock, known);
      for (let i = findStruct(structs, from); i < structs.length; i++) {
        const struct = structs[i]!;
        if (struct.id.clock >= end) break;
        if (struct instanceof Y.Item && this.#fresh.has(struct)) out.push(struct);
      }
    }
    return out;
  }

  /** Whether the update's delete set covers `id`. */
  deletedByUpdate(id: Y.ID): boolean {
    const ranges = this.#deletions.get(id.client);
    if (!ranges) return false;
    let low = 0;
    let high = ranges.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const range = ranges[middle]!;
      if (id.clock < range.clock) high = middle - 1;
      else if (id.clock >= range.clock + range.len) low = middle + 1;
      else return true;
    }
    return false;
  }

  #isUnresolved(struct: Y.Item | Y.GC | null): boolean {
    return struct instanceof Y.Item && this.#fresh.has(struct) && !this.#spots.has(struct);
  }

  /** The structs a fresh item's spot is derived from: left, right and parent. */
  #neighbours(item: Y.Item): (Y.Item | Y.GC | null)[] {
    return [
      item.origin ? this.structAt(item.origin) : null,
      item.rightOrigin ? this.structAt(item.rightOrigin) : null,
      item.parent instanceof Y.ID ? this.structAt(item.parent) : null,
    ];
  }

  /** A fresh struct that Yjs turns into garbage, or a GC, cannot hold or neighbour anything. */
  #isGarbage(struct: Y.Item | Y.GC | null): boolean {
    if (struct === null) return false;
    if (!(struct instanceof Y.Item)) return true;
    return this.#fresh.has(struct) && this.#spots.get(struct) === null;
  }

  /** Mirrors `Item.getMissing` and the start of `Item.integrate` in Yjs 13.6. */
  #resolve(item: Y.Item): Spot | null {
    const [left, right, parent] = this.#neighbours(item);
    if (this.#isGarbage(left ?? null) || this.#isGarbage(right ?? null)) return null;
    if (left || right) {
      const spot = this.spotOf((left ?? right) as Y.Item);
      return spot && { container: spot.container, key: spot.key };
    }
    if (typeof item.parent === 'string') return { container: item.parent, key: item.parentSub };
    if (!parent || this.#isGarbage(parent)) return null;
    // Yjs takes `content.type` of the parent item: anything but a type leaves it undefined.
    if (!((parent as Y.Item).content instanceof Y.ContentType)) return null;
    return { container: parent as Y.Item, key: item.parentSub };
  }

  #spotInDoc(item: Y.Item): Spot | null {
    const parent = item.parent;
    if (!(parent instanceof Y.AbstractType)) return null;
    const holder = parent._item;
    return { container: holder ?? this.#rootName(parent), key: item.parentSub };
  }

  #rootName(type: SharedType): string {
    let name = this.#rootNames.get(type);
    if (name === undefined) this.#rootNames.set(type, (name = Y.findRootTypeKey(type)));
    return name;
  }
}
