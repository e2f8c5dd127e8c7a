import * as Y from 'yjs';

/** One struct of a map key's list, as the conflict resolution sees it. */
interface Node {
  readonly client: number;
  readonly clock: number;
  len: number;
  readonly origin: Y.ID | null;
  readonly rightOrigin: Y.ID | null;
  /** Its content is deleted (a deleted value, or one written and deleted before it was sent). */
  readonly deleted: boolean;
  /** The item it stands for. */
  readonly item: Y.Item;
  left: Node | null;
  right: Node | null;
}

/**
 * Whether a map key holds a value once an update's items at that key are in, decided as Yjs
 * decides it: the items of one key form their own list, each new item goes after its origin
 * (split if the origin is inside a struct), concurrent ones are ordered by Yjs's conflict
 * resolution (`Item.integrate`, ported here for a list without right origins), and the key's
 * value is the rightmost item, unless that one is deleted. A write that "loses" this way (placed
 * left of another) leaves no value of its own, so counting it as the key's new value would let
 * a crafted update pass off a removal as an overwrite.
 *
 * `before`: the key's items in the document, left to right. `fresh`: the update's items at the
 * key. Null when the items are not written as any device writes a map
 * value (with a right origin, or next to something that is not at this key).
 */
export function keyHoldsValueAfter(
  before: readonly Y.Item[],
  fresh: readonly Y.Item[],
  deletedByUpdate: (id: Y.ID) => boolean,
): boolean | null {
  const value = keyValueAfter(before, fresh, deletedByUpdate);
  return value === undefined ? null : value !== null;
}

/**
 * The item holding a map key's value once an update's items at that key are in, decided as
 * `keyHoldsValueAfter` decides it: null when the key holds none, undefined when the items are not
 * written as any device writes a map value.
 */
export function keyValueAfter(
  before: readonly Y.Item[],
  fresh: readonly Y.Item[],
  deletedByUpdate: (id: Y.ID) => boolean,
): Y.Item | null | undefined {
  const list = new KeyList(before.map((item) => nodeOf(item, item.deleted)));
  const pending = fresh.map((item) => nodeOf(item, item.content instanceof Y.ContentDeleted));
  if (pending.some((node) => node.rightOrigin !== null)) return undefined;
  while (pending.length > 0) {
    // Any order that integrates an item after its origin gives the same list (Yjs converges).
    const next = pending.findIndex((n) => n.origin === null || list.covering(n.origin));
    if (next < 0) return undefined;
    list.integrate(pending.splice(next, 1)[0]!);
  }
  const last = list.last();
  if (last === null || last.deleted) return null;
  return deletedByUpdate(Y.createID(last.client, last.clock + last.len - 1)) ? null : last.item;
}

function nodeOf(item: Y.Item, deleted: boolean): Node {
  return {
    client: item.id.client,
    clock: item.id.clock,
    len: item.length,
    origin: item.origin,
    rightOrigin: item.rightOrigin,
    deleted,
    item,
    left: null,
    right: null,
  };
}

function sameId(a: Y.ID | null, b: Y.ID | null): boolean {
  return a === b || (a !== null && b !== null && a.client === b.client && a.clock === b.clock);
}

class KeyList {
  #head: Node | null = null;

  constructor(nodes: readonly Node[]) {
    let previous: Node | null = null;
    for (const node of nodes) {
      this.#link(node, previous);
      previous = node;
    }
  }

  last(): Node | null {
    let node = this.#head;
    while (node?.right) node = node.right;
    return node;
  }

  covering(id: Y.ID): Node | null {
    for (let n = this.#head; n; n = n.right) {
      if (n.client === id.client && n.clock <= id.clock && id.clock < n.clock + n.len) return n;
    }
    return null;
  }

  /** Mirrors `Item.integrate` in Yjs 13.6 for an item at a map key without a right origin. */
  integrate(node: Node): void {
    let left = node.origin ? this.#cleanEnd(node.origin) : null;
    if (!left || left.right !== null) {
      const conflicting = new Set<Node>();
      const beforeOrigin = new Set<Node>();
      for (let o = left ? left.right : this.#head; o !== null; o = o.right) {
        beforeOrigin.add(o);
        conflicting.add(o);
        if (sameId(node.origin, o.origin)) {
          if (o.client < node.client) {
            left = o;
            conflicting.clear();
          } else if (o.rightOrigin === null) break;
        } else {
          const originOfO = o.origin && this.covering(o.origin);
          if (!originOfO || !beforeOrigin.has(originOfO)) break;
          if (!conflicting.has(originOfO)) {
            left = o;
            conflicting.clear();
          }
        }
      }
    }
    this.#link(node, left);
  }

  /** The node ending at `id`, splitting the one that holds it there (`getItemCleanEnd`). */
  #cleanEnd(id: Y.ID): Node | null {
    const node = this.covering(id);
    if (!node || id.clock === node.clock + node.len - 1) return node;
    const diff = id.clock - node.clock + 1;
    const rest: Node = {
      client: node.client,
      clock: node.clock + diff,
      len: node.len - diff,
      origin: Y.createID(node.client, node.clock + diff - 1),
      rightOrigin: node.rightOrigin,
      deleted: node.deleted,
      item: node.item,
      left: null,
      right: null,
    };
    node.len = diff;
    this.#link(rest, node);
    return node;
  }

  #link(node: Node, left: Node | null): void {
    node.left = left;
    node.right = left ? left.right : this.#head;
    if (node.right) node.right.left = node;
    if (left) left.right = node;
    else this.#head = node;
  }
}
