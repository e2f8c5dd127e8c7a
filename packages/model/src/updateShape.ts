import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';

/** How far a replica reaches for a client id: the next clock it expects from that client. */
export type KnownClock = (client: number) => number;

/** Why an update's shape is refused. The values are the server's reject reasons. */
export const ShapeFault = {
  /** Not a complete, safe Yjs v1 update. */
  invalid: 'invalid-update',
  /** A valid update that builds on changes this replica does not have. */
  missing: 'missing-dependencies',
} as const;
export type ShapeFault = (typeof ShapeFault)[keyof typeof ShapeFault];

export type Struct = Y.Item | Y.GC | Y.Skip;

/** One deleted clock range of one client. */
export interface DeletedRange {
  readonly client: number;
  readonly clock: number;
  readonly len: number;
}

/** One client's structs in the update, in clock order (Skips left out). */
export interface Run {
  readonly structs: (Y.Item | Y.GC)[];
  /** Index in the update's struct list of each struct above (the dependency graph's nodes). */
  readonly nodes: number[];
}

/** A decoded update whose shape is sound: what the authorship checker reads on. */
export interface ShapedUpdate {
  /** Every struct, in the order of the update (Skips included). */
  readonly structs: readonly Struct[];
  readonly runs: ReadonlyMap<number, Run>;
  readonly deletions: readonly DeletedRange[];
}

export type UpdateShape =
  | { readonly ok: true; readonly update: ShapedUpdate }
  | { readonly ok: false; readonly fault: ShapeFault; readonly detail: string };

interface Decoded {
  structs: Struct[];
  ds: { clients: Map<number, { clock: number; len: number }[]> };
}

/** Thrown inside this module only, to leave a deep check early; never escapes it. */
class ShapeRefusal {
  constructor(
    readonly fault: ShapeFault,
    readonly detail: string,
  ) {}
}

/**
 * Checks a Yjs (v1) update before it may touch a document. Everything Yjs assumes of an update
 * without checking it is checked here, because a broken assumption either throws half way
 * through `applyUpdate` or, worse, integrates into a state that no fresh document can load:
 *
 * 1. It decodes completely, structs and delete set. Yjs integrates structs before it reads the
 *    delete set, so a truncated delete set would otherwise leave half an update applied.
 * 2. Every client id, clock and length is a safe integer, and so is every clock + length. lib0
 *    reads varints up to 2^63, and Yjs adds clocks as doubles: past 2^53 they round, struct
 *    ranges overlap or leave gaps, and every later binary search over the client's structs can
 *    miss ("Unexpected case" in `findIndexSS`) in every device that loads the space.
 * 3. Each client appears in one group. Yjs keeps only the last group of a client, so the others
 *    would vanish while their ids are still referenced.
 * 4. Everything it depends on is known: each client's structs continue where the replica (or an
 *    earlier struct in the same update) left off, every origin, right origin and parent id is
 *    known, and every deletion targets known items. Yjs would otherwise park the update as
 *    "pending" without a word; this refuses it instead (`missing-dependencies`), and the caller
 *    decides whether to ask for what it lacks.
 * 5. No item is partly known: Yjs would splice it onto whatever struct precedes the known
 *    part, without looking at what that is.
 * 6. References are causal: an item names as origin, right origin or parent only something
 *    older than itself. From its own client that means a smaller clock (Yjs does not look those
 *    up before it integrates, and throws on an item naming itself or a later one); across
 *    clients, the references inside the update form no cycle (two items naming each other
 *    leave both pending).
 * 7. No item names the same id as its left and its right neighbour (origin and right origin).
 *    Yjs's ordering assumes the left one lies before the right one; for an item that names
 *    one character twice, where it lands depends on the order updates are integrated in, so a
 *    fresh device loading the encoded state would show other text than the devices that were
 *    there. (The order of two different neighbours needs the document: `neighbourOrder.ts`.)
 *
 * Pure: never throws, never reads more than `known` of the replica. On success it hands back
 * the decoded update, so a caller checking more (authorship) decodes once.
 */
export function checkUpdateShape(update: Uint8Array, known: KnownClock): UpdateShape {
  try {
    return { ok: true, update: shapeOf(update, known) };
  } catch (error) {
    if (error instanceof ShapeRefusal)
      return { ok: false, fault: error.fault, detail: error.detail };
    // Anything Yjs or lib0 throws on the way is input they could not read.
    return { ok: false, fault: ShapeFault.invalid, detail: 'not a valid Yjs update' };
  }
}

function shapeOf(update: Uint8Array, known: KnownClock): ShapedUpdate {
  let decoded: Decoded;
  let groups: number;
  try {
    decoded = Y.decodeUpdate(update) as Decoded;
    groups = decoding.readVarUint(decoding.createDecoder(update));
  } catch {
    throw invalid('not a valid Yjs update');
  }

  const runs = new Map<number, Run>();
  /** Each struct's place in its client's run. */
  const places = new Int32Array(decoded.structs.length);
  const reach = new Map<number, number>();
  const reachOf = (client: number): number => reach.get(client) ?? known(client);
  const clientsSeen = new Set<number>();
  let lastClient: number | null = null;

  for (const [index, struct] of decoded.structs.entries()) {
    const { client, clock } = struct.id;
    if (client !== lastClient) {
      if (clientsSeen.has(client)) throw invalid('a client appears in two groups');
      clientsSeen.add(client);
      lastClient = client;
    }
    if (!isSafeId(client) || !isSafeRange(clock, struct.length) || !(struct.length > 0)) {
      throw invalid('a struct outside the safe clock range');
    }
    if (struct instanceof Y.Skip) continue;
    const end = reachOf(client);
    if (clock > end) throw missing();
    // Yjs cuts an item the replica holds in part and hangs the rest on whatever holds the clock
    // before it, even a garbage-collected struct or an item of another parent. An honest
    // device only sends such an item when the replica moved on after telling it what it has;
    // asking again (as for missing dependencies) gets it cut where the replica now ends.
    if (struct instanceof Y.Item && clock < end && end < clock + struct.length) throw missing();
    reach.set(client, Math.max(end, clock + struct.length));
    let run = runs.get(client);
    if (!run) runs.set(client, (run = { structs: [], nodes: [] }));
    places[index] = run.nodes.length;
    run.structs.push(struct);
    run.nodes.push(index);
  }
  if (clientsSeen.size !== groups) throw invalid('a client group is empty or repeated');

  checkReferences(decoded.structs, runs, places, known, reachOf);

  const deletions: DeletedRange[] = [];
  for (const [client, ranges] of decoded.ds.clients) {
    if (!isSafeId(client)) throw invalid('a deletion outside the safe clock range');
    for (const { clock, len } of ranges) {
      if (!isSafeRange(clock, len)) throw invalid('a deletion outside the safe clock range');
      if (!(len > 0) || clock + len > reachOf(client)) throw missing();
      deletions.push({ client, clock, len });
    }
  }
  return { structs: decoded.structs, runs, deletions };
}

/**
 * Every reference names something known, and the structs of the update can be integrated in
 * some order (a depth-first walk of "needs" finds no cycle). Linear in the number of structs and
 * references, times a binary search.
 */
function checkReferences(
  structs: Struct[],
  runs: Map<number, Run>,
  places: Int32Array,
  known: KnownClock,
  reachOf: KnownClock,
): void {
  /** The node (struct index) holding `id`, or null when the replica already has it. */
  const holder = (id: Y.ID): number | null => {
    if (!isSafeId(id.client) || !Number.isSafeInteger(id.clock) || id.clock < 0) {
      throw invalid('a reference outside the safe clock range');
    }
    if (id.clock < known(id.client)) return null;
    if (id.clock >= reachOf(id.client)) throw missing();
    const run = runs.get(id.client)!;
    return run.nodes[findStruct(run.structs, id.clock)]!;
  };

  const needs = (index: number): number[] => {
    const struct = structs[index]!;
    const run = runs.get(struct.id.client)!;
    const place = places[index]!;
    const result = place > 0 ? [run.nodes[place - 1]!] : [];
    if (!(struct instanceof Y.Item)) return result;
    const parent = struct.parent instanceof Y.ID ? struct.parent : null;
    if (struct.origin && struct.rightOrigin && Y.compareIDs(struct.origin, struct.rightOrigin)) {
      throw invalid('an item names the same neighbour on its left and on its right');
    }
    for (const id of [struct.origin, struct.rightOrigin, parent]) {
      if (id === null) continue;
      if (id.client === struct.id.client && id.clock >= struct.id.clock) {
        throw invalid('an item names itself or a later item as its neighbour or parent');
      }
      const node = holder(id);
      if (node !== null && node !== index) result.push(node);
    }
    return result;
  };

  // 0: not visited, 1: on the current path, 2: done.
  const state = new Uint8Array(structs.length);
  for (const run of runs.values()) {
    for (const root of run.nodes) {
      if (state[root] !== 0) continue;
      const stack = [root];
      while (stack.length > 0) {
        const node = stack[stack.length - 1]!;
        if (state[node] === 0) {
          state[node] = 1;
          for (const next of needs(node)) {
            if (state[next] === 1) throw invalid('items in the update depend on each other');
            if (state[next] === 0) stack.push(next);
          }
        } else {
          stack.pop();
          state[node] = 2;
        }
      }
    }
  }
}

/** Index of the struct covering `clock` in a contiguous, clock-ordered run (it is there). */
export function findStruct(structs: readonly (Y.Item | Y.GC)[], clock: number): number {
  let low = 0;
  let high = structs.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (structs[middle]!.id.clock <= clock) low = middle;
    else high = middle - 1;
  }
  return low;
}

function isSafeId(client: number): boolean {
  return Number.isSafeInteger(client) && client >= 0;
}

/** Whether [clock, clock + length) is computed exactly by doubles, as Yjs computes it. */
function isSafeRange(clock: number, length: number): boolean {
  return (
    Number.isSafeInteger(clock) &&
    Number.isSafeInteger(length) &&
    clock >= 0 &&
    clock + length <= Number.MAX_SAFE_INTEGER
  );
}

function invalid(detail: string): ShapeRefusal {
  return new ShapeRefusal(ShapeFault.invalid, detail);
}

function missing(): ShapeRefusal {
  return new ShapeRefusal(
    ShapeFault.missing,
    'the update depends on changes this replica does not have',
  );
}
