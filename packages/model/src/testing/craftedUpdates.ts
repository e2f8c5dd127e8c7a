import * as encoding from 'lib0/encoding';

/**
 * Yjs updates written by hand in the v1 encoding, each one a way a hostile device broke Yjs
 * (found by tests/fuzz). Every function returns the bytes of one update.
 */

interface Id {
  client: number;
  clock: number;
}

/** An item's content: characters, one JSON value (as Y.Map.set writes), or a deleted run. */
type Content = { text: string } | { value: unknown } | { deleted: number };

type Item = Content & {
  origin?: Id;
  rightOrigin?: Id;
  /** A root type's name, or the id of the item holding the parent type. */
  parent?: string | Id;
  /** The map key, for an item without origins. */
  parentSub?: string;
};

type Struct = Item | { gc: number };

/** Struct groups (client, first clock, structs) and a delete set. */
export function encodeUpdate(
  groups: { client: number; clock: number; structs: Struct[] }[],
  deletions: { client: number; ranges: [clock: number, len: number][] }[] = [],
): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, groups.length);
  for (const { client, clock, structs } of groups) {
    encoding.writeVarUint(encoder, structs.length);
    encoding.writeVarUint(encoder, client);
    encoding.writeVarUint(encoder, clock);
    for (const struct of structs) {
      if ('gc' in struct) {
        encoding.writeUint8(encoder, 0);
        encoding.writeVarUint(encoder, struct.gc);
        continue;
      }
      // The low bits say which content (1 deleted, 4 string, 8 JSON), the top bits which ids
      // follow, and 0x20 that a map key follows the parent.
      const ref = 'text' in struct ? 4 : 'value' in struct ? 8 : 1;
      const hasOrigins = struct.origin !== undefined || struct.rightOrigin !== undefined;
      const info =
        ref |
        (struct.origin ? 0x80 : 0) |
        (struct.rightOrigin ? 0x40 : 0) |
        (!hasOrigins && struct.parentSub !== undefined ? 0x20 : 0);
      encoding.writeUint8(encoder, info);
      if (struct.origin) writeId(encoder, struct.origin);
      if (struct.rightOrigin) writeId(encoder, struct.rightOrigin);
      if (!hasOrigins) {
        const parent = struct.parent ?? 't';
        if (typeof parent === 'string') {
          encoding.writeVarUint(encoder, 1);
          encoding.writeVarString(encoder, parent);
        } else {
          encoding.writeVarUint(encoder, 0);
          writeId(encoder, parent);
        }
        if (struct.parentSub !== undefined) encoding.writeVarString(encoder, struct.parentSub);
      }
      if ('text' in struct) encoding.writeVarString(encoder, struct.text);
      else if ('value' in struct) {
        encoding.writeVarUint(encoder, 1);
        encoding.writeAny(encoder, struct.value as Parameters<typeof encoding.writeAny>[1]);
      } else encoding.writeVarUint(encoder, struct.deleted);
    }
  }
  encoding.writeVarUint(encoder, deletions.length);
  for (const { client, ranges } of deletions) {
    encoding.writeVarUint(encoder, client);
    encoding.writeVarUint(encoder, ranges.length);
    for (const [clock, len] of ranges) {
      encoding.writeVarUint(encoder, clock);
      encoding.writeVarUint(encoder, len);
    }
  }
  return encoding.toUint8Array(encoder);
}

function writeId(encoder: encoding.Encoder, id: Id): void {
  encoding.writeVarUint(encoder, id.client);
  encoding.writeVarUint(encoder, id.clock);
}

/** A client's first item, naming itself as its origin. */
export function selfOrigin(client: number): Uint8Array {
  return encodeUpdate([
    { client, clock: 0, structs: [{ text: 'x', origin: { client, clock: 0 } }] },
  ]);
}

/** A client's first item, naming itself as its parent. */
export function selfParent(client: number): Uint8Array {
  return encodeUpdate([
    { client, clock: 0, structs: [{ text: 'x', parent: { client, clock: 0 } }] },
  ]);
}

/** Two new items of two clients, each naming the other as its origin. */
export function mutualOrigins(a: number, b: number): Uint8Array {
  return encodeUpdate([
    { client: a, clock: 0, structs: [{ text: 'a', origin: { client: b, clock: 0 } }] },
    { client: b, clock: 0, structs: [{ text: 'b', origin: { client: a, clock: 0 } }] },
  ]);
}

/**
 * Two updates: the first gives `client` a garbage-collected struct of two clocks, the second an
 * item over clocks 0..3. Yjs skips the known half and hangs the rest on the GC, which has no
 * neighbours: Item.integrate reads `origin` of undefined.
 */
export function itemOverGc(client: number): [Uint8Array, Uint8Array] {
  return [
    encodeUpdate([{ client, clock: 0, structs: [{ gc: 2 }] }]),
    encodeUpdate([{ client, clock: 0, structs: [{ text: 'wxyz' }] }]),
  ];
}

/**
 * An update Yjs applies without complaint, after which no fresh document can load the state:
 * a GC of 2^53 + 2 clocks pushes the next item past the last exact double, and the delete set,
 * merged with the GC, rounds into that item ("Unexpected case" in findIndexSS).
 */
export function pastSafeClocks(client: number): Uint8Array {
  return encodeUpdate(
    [
      {
        client,
        clock: 0,
        structs: [
          { text: 'abcd', parent: 'notes' },
          { gc: 2 ** 53 + 2 },
          { text: 'xyz', origin: { client, clock: 3 } },
        ],
      },
    ],
    [{ client, ranges: [[3, 1]] }],
  );
}

/** The same client in two groups: Yjs keeps only the last, the first vanishes. */
export function repeatedClient(client: number): Uint8Array {
  return encodeUpdate([
    { client, clock: 0, structs: [{ text: 'ab' }] },
    { client, clock: 2, structs: [{ text: 'c', origin: { client, clock: 1 } }] },
  ]);
}
