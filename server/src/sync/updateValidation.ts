import { CloseCode } from '@mend/protocol';
import * as Y from 'yjs';
import { ProtocolViolation } from './ProtocolViolation.js';

/** How far the server's document reaches for a client id (its next expected clock). */
export type KnownClock = (client: number) => number;

/**
 * Checks an incoming Yjs update before it may touch a live document:
 *
 * 1. It decodes completely, structs and delete set. Yjs integrates structs before it reads the
 *    delete set, so a truncated delete set would otherwise leave half an update applied.
 * 2. Everything it depends on is known: each client's structs continue where the server (or an
 *    earlier struct in the same update) left off, every origin, right origin and parent id is
 *    known, and every deletion targets known items. Yjs would otherwise park the update as
 *    "pending" without a word; we refuse it instead (the room then asks that client for
 *    everything it lacks, with a sync step 1).
 *
 * Throws a ProtocolViolation (4400; reason 'invalid-update' or 'missing-dependencies') on
 * failure; returns nothing on success.
 */
export function checkUpdate(update: Uint8Array, known: KnownClock): void {
  let decoded: {
    structs: (Y.Item | Y.GC | Y.Skip)[];
    ds: { clients: Map<number, { clock: number; len: number }[]> };
  };
  try {
    decoded = Y.decodeUpdate(update) as typeof decoded;
  } catch {
    throw new ProtocolViolation(CloseCode.badMessage, 'invalid-update', 'not a valid Yjs update');
  }

  const reach = new Map<number, number>();
  const reachOf = (client: number): number => reach.get(client) ?? known(client);

  for (const struct of decoded.structs) {
    if (struct instanceof Y.Skip) continue;
    const { client, clock } = struct.id;
    const end = reachOf(client);
    if (!(struct.length > 0) || clock > end) throw missing();
    reach.set(client, Math.max(end, clock + struct.length));
  }

  const isKnown = (id: Y.ID | null): boolean => id === null || id.clock < reachOf(id.client);
  for (const struct of decoded.structs) {
    if (!(struct instanceof Y.Item)) continue;
    const parent = struct.parent instanceof Y.ID ? struct.parent : null;
    if (!isKnown(struct.origin) || !isKnown(struct.rightOrigin) || !isKnown(parent)) {
      throw missing();
    }
  }

  for (const [client, deletions] of decoded.ds.clients) {
    for (const { clock, len } of deletions) {
      if (!(len > 0) || clock + len > reachOf(client)) throw missing();
    }
  }
}

function missing(): ProtocolViolation {
  return new ProtocolViolation(
    CloseCode.badMessage,
    'missing-dependencies',
    'update depends on changes the server does not have',
  );
}
