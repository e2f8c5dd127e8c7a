// Hostile y-websocket sync frames for fuzzing the server, built from real edits: honest updates,
// the same updates mutated (bit flips, spliced bytes, swapped varints), and updates written by
// hand with Yjs's v1 encoding (items whose origins name themselves, each other, later items or
// other parents; delete sets with overlapping, huge, zero and unsorted ranges; structs from
// unknown clients and clocks out of order). Seeded: the same seed gives the same frames for the
// same document. Shared by tests/integration/fuzz.test.ts and tests/fuzz/run.mjs.
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { prng } from '../support/prng.mjs';

// Clocks and lengths past 2^53 are where doubles stop counting one by one.
const HUGE = [2 ** 53 - 3, 2 ** 53, 2 ** 53 + 2, 2 ** 60];
const ROOTS = ['notes', 'meta', 'list', 'agreements', 'x'];
const KEYS = ['a', 'b', 'name', 'body', ''];

/** y-websocket's sync message: messageSync, step, payload. */
export function syncFrame(step, payload) {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0);
  encoding.writeVarUint(encoder, step);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

/**
 * A source of hostile frames for one device. `mirror` is the document as the device knows it
 * (keep it up to date with what the server relays): crafted items point into it.
 *
 * `spare`: client ids it never writes structs under (it still names and deletes what they
 * wrote). Writing under an honest device's client id at the clock of an edit the server has
 * not received yet shadows that edit and what the device later types next to it: the device
 * and the server then hold different items under the same ids, and no sync can bring them
 * back together. Plaintext spaces allow it (docs/security.md); a test that checks that the
 * honest device converges spares its id.
 *
 * @param {{ seed: number, mirror: Y.Doc, spare?: ReadonlySet<number> }} options
 */
export function createFrameSource({ seed, mirror, spare = new Set() }) {
  const random = prng(seed);
  const int = (n) => Math.floor(random() * n);
  const pick = (list) => list[int(list.length)];
  const chance = (p) => random() < p;
  // The device's own editing document: its edits are the raw material for mutations.
  let own = new Y.Doc();
  const recent = [];

  function remember(update) {
    recent.push(update);
    if (recent.length > 32) recent.shift();
  }

  function honestEdit() {
    Y.applyUpdate(own, Y.encodeStateAsUpdate(mirror));
    const before = Y.encodeStateVector(own);
    const text = own.getText(pick(['notes', 'x']));
    const kind = int(6);
    if (kind === 0 && text.length > 0) {
      const at = int(text.length);
      text.delete(at, 1 + int(Math.min(8, text.length - at)));
    } else if (kind === 1) {
      own.getMap('meta').set(pick(KEYS), chance(0.5) ? int(1000) : { nested: [int(9)] });
    } else if (kind === 2) {
      const list = own.getArray('list');
      if (list.length > 0 && chance(0.4)) list.delete(int(list.length), 1);
      else list.insert(int(list.length + 1), [chance(0.5) ? 'item' : new Y.Map()]);
    } else if (kind === 3 && text.length > 0) {
      text.format(int(text.length), 1 + int(3), { bold: chance(0.5) ? true : null });
    } else {
      text.insert(int(text.length + 1), pick(['a', 'hello ', 'ü', '😀', 'word ']));
    }
    const update = Y.encodeStateAsUpdate(own, before);
    remember(update);
    return update;
  }

  /** Ids the document holds: the last clock of each client and a few from the middle. */
  function knownIds() {
    const ids = [];
    for (const [client, structs] of mirror.store.clients) {
      const last = structs[structs.length - 1];
      if (!last) continue;
      const end = last.id.clock + last.length;
      ids.push({ client, clock: end - 1 }, { client, clock: int(end) });
    }
    return ids;
  }

  function mutate(update) {
    const bytes = update.slice();
    const n = 1 + int(3);
    for (let i = 0; i < n && bytes.length > 0; i++) {
      const at = int(bytes.length);
      switch (int(5)) {
        case 0:
          bytes[at] ^= 1 << int(8);
          break;
        case 1:
          bytes[at] = pick([0, 1, 2, 0x7f, 0x80, 0xff, int(256)]);
          break;
        case 2:
          return concat(bytes.slice(0, at), bytes.slice(at + 1 + int(3)));
        case 3:
          return concat(bytes.slice(0, at), Uint8Array.of(int(256), int(256)), bytes.slice(at));
        default:
          bytes[at] = (bytes[at] + pick([1, -1, 2, -2])) & 0xff;
      }
    }
    return bytes;
  }

  function writeId(encoder, id) {
    encoding.writeVarUint(encoder, id.client);
    encoding.writeVarUint(encoder, id.clock);
  }

  /** One item in v1 encoding, with origins chosen among `ids`. */
  function writeItem(encoder, ids, self) {
    const origin = chance(0.6) ? pick(ids) : null;
    const rightOrigin = chance(0.4) ? pick(ids) : null;
    const parentSub = !origin && !rightOrigin && chance(0.3) ? pick(KEYS) : null;
    const content = pick([1, 2, 4, 4, 4, 6, 7, 8, 0]);
    let info = content & 0x1f;
    if (origin) info |= 0x80;
    if (rightOrigin) info |= 0x40;
    if (parentSub !== null) info |= 0x20;
    if (content === 0) {
      const len = pick([0, 1, 2, 5, pick(HUGE)]);
      encoding.writeUint8(encoder, 0);
      encoding.writeVarUint(encoder, len);
      return len;
    }
    encoding.writeUint8(encoder, info);
    if (origin) writeId(encoder, origin);
    if (rightOrigin) writeId(encoder, rightOrigin);
    if (!origin && !rightOrigin) {
      if (chance(0.6)) {
        encoding.writeVarUint(encoder, 1);
        encoding.writeVarString(encoder, pick(ROOTS));
      } else {
        encoding.writeVarUint(encoder, 0);
        writeId(encoder, chance(0.3) ? self : pick(ids));
      }
      if (parentSub !== null) encoding.writeVarString(encoder, parentSub);
    }
    switch (content) {
      case 1: {
        const len = pick([0, 1, 3, 1000, pick(HUGE)]);
        encoding.writeVarUint(encoder, len);
        return len;
      }
      case 2:
        encoding.writeVarUint(encoder, 1);
        encoding.writeVarString(encoder, pick(['1', '"x"', 'undefined']));
        return 1;
      case 4: {
        const text = pick(['', 'a', 'ab', 'hello', '\ud83d', '😀']);
        encoding.writeVarString(encoder, text);
        return text.length;
      }
      case 6:
        encoding.writeVarString(encoder, 'bold');
        encoding.writeVarString(encoder, pick(['true', 'null']));
        return 1;
      case 7:
        encoding.writeVarUint(encoder, pick([0, 1, 2, 4, 6]));
        return 1;
      default: {
        const len = pick([0, 1, 2]);
        encoding.writeVarUint(encoder, len);
        for (let i = 0; i < len; i++) encoding.writeAny(encoder, int(100));
        return len;
      }
    }
  }

  /** Structs of one or two clients written by hand, plus a delete set. */
  function craftedUpdate() {
    const encoder = encoding.createEncoder();
    const ids = knownIds();
    const forgeable = ids.filter((id) => !spare.has(id.client));
    const groups = [];
    const groupCount = pick([0, 1, 1, 1, 2]);
    const clients = [];
    for (let g = 0; g < groupCount; g++) {
      const fresh = chance(0.3);
      const client = fresh
        ? pick([own.clientID, 1 + int(2 ** 31), 0, 2 ** 32 - 1 + int(3)])
        : (pick(forgeable)?.client ?? own.clientID);
      const known = Y.getState(mirror.store, client);
      const clock = pick([known, known, known, Math.max(0, known - 1), known + 1, 0, pick(HUGE)]);
      clients.push({ client, clock });
    }
    // Ids the new structs will have, so origins can name each other and themselves.
    for (const { client, clock } of clients) {
      for (let i = 0; i < 3; i++) ids.push({ client, clock: clock + i });
    }
    if (ids.length === 0) ids.push({ client: own.clientID, clock: 0 });
    encoding.writeVarUint(encoder, clients.length);
    for (const { client, clock } of clients) {
      const count = 1 + int(3);
      encoding.writeVarUint(encoder, count);
      encoding.writeVarUint(encoder, client);
      encoding.writeVarUint(encoder, clock);
      let at = clock;
      for (let i = 0; i < count; i++) {
        const self = { client, clock: at };
        const len = writeItem(encoder, ids, self);
        at += Math.max(1, len);
      }
      groups.push(client);
    }
    writeDeleteSet(encoder, ids);
    return encoding.toUint8Array(encoder);
  }

  function writeDeleteSet(encoder, ids) {
    const clients = chance(0.3) ? [] : [...new Set(ids.map((id) => id.client))].slice(0, 3);
    if (chance(0.2)) clients.push(1 + int(2 ** 31));
    encoding.writeVarUint(encoder, clients.length);
    for (const client of clients) {
      encoding.writeVarUint(encoder, client);
      const state = Y.getState(mirror.store, client);
      const count = 1 + int(3);
      encoding.writeVarUint(encoder, count);
      for (let i = 0; i < count; i++) {
        encoding.writeVarUint(encoder, pick([0, int(state + 1), state, state + 2, pick(HUGE)]));
        encoding.writeVarUint(encoder, pick([0, 1, 2, state, 2 ** 32, pick(HUGE)]));
      }
    }
  }

  /** Honest structs with a crafted delete set appended. */
  function honestWithCraftedDeletes() {
    const update = honestEdit();
    // The honest edit's own delete set is the tail; replace it if it is the empty one.
    if (update[update.length - 1] !== 0) return update;
    const encoder = encoding.createEncoder();
    writeDeleteSet(encoder, knownIds().concat(ownIds()));
    return concat(update.slice(0, -1), encoding.toUint8Array(encoder));
  }

  function ownIds() {
    const end = Y.getState(own.store, own.clientID);
    return end > 0 ? [{ client: own.clientID, clock: end - 1 }] : [];
  }

  function nextUpdate() {
    const kind = int(10);
    if (kind < 2) return honestEdit();
    if (kind < 4) return mutate(chance(0.5) || recent.length === 0 ? honestEdit() : pick(recent));
    if (kind < 5) return honestWithCraftedDeletes();
    if (kind < 6 && recent.length > 1) return Y.mergeUpdates([pick(recent), pick(recent)]);
    return craftedUpdate();
  }

  return {
    /** The next update, unwrapped. */
    nextUpdate,
    /** The next whole frame: mostly sync updates, sometimes another step or plain garbage. */
    nextFrame() {
      const update = nextUpdate();
      const roll = int(20);
      if (roll === 0) return mutate(syncFrame(2, update));
      // Step 1 carries a state vector; an update sent as one is garbage of another kind.
      return syncFrame(roll < 2 ? 0 : roll < 8 ? 1 : 2, update);
    },
    /** Starts over as a new Yjs client (after the server closed the socket, say). */
    renew() {
      own.destroy();
      own = new Y.Doc();
    },
  };
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
