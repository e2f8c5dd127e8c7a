import { SealedMessage, type ServerMessage, type StoredEnvelope } from '@mend/protocol';
import type { SealedLoad } from '../storage/SealedLog.js';

/** Largest backlog part (docs/protocol.md): a device reads a long backlog piece by piece. */
export const BACKLOG_PART_BYTES = 1024 * 1024;

/** What a part's header and each entry's seq and length may take beyond the envelope bytes. */
const PART_OVERHEAD = 32;
const ENTRY_OVERHEAD = 16;

/**
 * The answer to a `hello`: the loaded snapshot (as the entry at its coversSeq) and envelopes in
 * parts of at most `partBytes` each, every part naming the head, the final one marked `last`.
 * An envelope larger than a part goes alone in one. Nothing loaded: one empty, final part.
 */
export function backlogParts(
  loaded: SealedLoad,
  partBytes: number = BACKLOG_PART_BYTES,
): ServerMessage[] {
  const entries: StoredEnvelope[] = loaded.snapshot
    ? [{ seq: loaded.snapshot.coversSeq, envelope: loaded.snapshot.envelope }, ...loaded.envelopes]
    : loaded.envelopes;
  const parts: StoredEnvelope[][] = [];
  let part: StoredEnvelope[] = [];
  let size = PART_OVERHEAD;
  for (const entry of entries) {
    const cost = entry.envelope.byteLength + ENTRY_OVERHEAD;
    if (part.length > 0 && size + cost > partBytes) {
      parts.push(part);
      part = [];
      size = PART_OVERHEAD;
    }
    part.push(entry);
    size += cost;
  }
  parts.push(part);
  return parts.map((entries, i) => ({
    type: SealedMessage.backlog,
    head: loaded.head,
    last: i === parts.length - 1,
    entries,
  }));
}
