// Test support only (excluded from the build): a two-partner space and deterministic ids.
import * as Y from 'yjs';
import { acceptAgreement, getAgreement } from '../agreements.js';
import { ModelError } from '../errors.js';
import type { AgreementId, IdGenerator, PartnerId } from '../ids.js';
import { addPartner, initSpace } from '../space.js';

export const A = 'partnerAAAAAAAAAAAAA' as PartnerId;
export const B = 'partnerBBBBBBBBBBBBB' as PartnerId;
export const T0 = Date.UTC(2026, 10, 1, 9, 0, 0);

/** A device's signing key as the sealed log names it (32 bytes, unpadded base64url), from a tag. */
export function deviceKeyOf(tag: string): string {
  return tag.padEnd(42, '_').slice(0, 42) + 'A';
}

/** Ids `<prefix>0000000001`, `<prefix>0000000002`, …: valid, unique, and stable across runs. */
export function counterIds(prefix: string): IdGenerator {
  let n = 0;
  return () => `${prefix}${String(++n).padStart(16, '0')}`;
}

/** A fresh document with the space initialised and both partners joined. */
export function twoPartnerSpace(options: { secondPartner?: boolean } = {}): Y.Doc {
  const doc = new Y.Doc();
  initSpace(doc, { name: 'Our space', createdAt: T0 });
  addPartner(doc, { id: A, displayName: 'Alex', joinedAt: T0, color: '#aa3355' });
  if (options.secondPartner !== false) {
    addPartner(doc, { id: B, displayName: 'Sam', joinedAt: T0 + 1000, color: '#3355aa' });
  }
  return doc;
}

/** `partnerId` accepts the agreement's current wording. */
export function acceptCurrent(
  doc: Y.Doc,
  id: AgreementId,
  partnerId: PartnerId,
  at = T0 + 10,
): void {
  acceptAgreement(doc, {
    agreementId: id,
    partnerId,
    fingerprint: getAgreement(doc, id)!.fingerprint,
    at,
  });
}

/** Applies each document's missing updates to the other. */
export function sync(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
}

/** A replica of `doc` with its own client id, as a second device would have after syncing. */
export function replicaOf(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
}

/** The origins of the transactions `fn` ran on `doc`. */
export function originsOf(doc: Y.Doc, fn: () => void): unknown[] {
  const origins: unknown[] = [];
  const record = (tr: Y.Transaction) => origins.push(tr.origin);
  doc.on('afterTransaction', record);
  try {
    fn();
  } finally {
    doc.off('afterTransaction', record);
  }
  return origins;
}

/** Runs `fn`, expecting it to throw; returns the update it produced (should be none). */
export function updatesDuring(doc: Y.Doc, fn: () => void): Uint8Array[] {
  const updates: Uint8Array[] = [];
  const record = (u: Uint8Array) => updates.push(u);
  doc.on('update', record);
  try {
    fn();
  } catch {
    // the caller asserts on the error separately
  } finally {
    doc.off('update', record);
  }
  return updates;
}

/** The `ModelError` code `fn` throws, or a description of what happened instead. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof ModelError ? error.code : `not a ModelError: ${String(error)}`;
  }
  return 'no error';
}
