import type * as Y from 'yjs';
import type { PartnerId } from './ids.js';
import { addPartner, getPartner, getSpace, initSpace, listPartners } from './space.js';

/*
 * Who writes a seat: for a plaintext space the server, on create and join; for a sealed space
 * the partner's own device, once it is in (the server cannot read or write the document).
 */

/** Calm, distinct colours for the first and second partner (their cursors and marks). */
export const PARTNER_COLORS = ['#6b5ca5', '#2e7d6f'] as const;

/** The document content written when a space is created: its meta data and the first partner. */
export function writeNewSpace(
  doc: Y.Doc,
  input: { name: string | null; createdAt: number; partnerId: PartnerId; displayName: string },
): void {
  initSpace(doc, { name: input.name ?? '', createdAt: input.createdAt });
  addPartner(doc, {
    id: input.partnerId,
    displayName: input.displayName,
    joinedAt: input.createdAt,
    color: PARTNER_COLORS[0],
  });
}

/** The document content written when the second partner joins. */
export function writeSecondPartner(
  doc: Y.Doc,
  input: { partnerId: PartnerId; displayName: string; joinedAt: number },
): void {
  addPartner(doc, {
    id: input.partnerId,
    displayName: input.displayName,
    joinedAt: input.joinedAt,
    color: PARTNER_COLORS[1],
  });
}

/**
 * Writes a stored partner into the document if the document does not have them: the join
 * stores the partner first and writes the document second, so a failed second write would
 * otherwise leave a partner who can connect but is missing from the space. Returns whether it
 * wrote anything.
 */
export function writeMissingPartner(
  doc: Y.Doc,
  partner: { partnerId: PartnerId; displayName: string; joinedAt: number },
): boolean {
  if (getSpace(doc) === null || getPartner(doc, partner.partnerId) !== null) return false;
  const color = PARTNER_COLORS[listPartners(doc).length] ?? PARTNER_COLORS[1];
  addPartner(doc, {
    id: partner.partnerId,
    displayName: partner.displayName,
    joinedAt: partner.joinedAt,
    color,
  });
  return true;
}
