import * as Y from 'yjs';
import { ModelError, ModelErrorCode } from './errors.js';
import { textFingerprint } from './fingerprint.js';
import { randomId, type BoundaryId, type IdGenerator, type PartnerId } from './ids.js';
import { Origin } from './origin.js';
import { Limits, type BoundarySnapshot, type EpochMs } from './schema.js';
import {
  isRecord,
  notFound,
  numOrNull,
  requireInitialised,
  requirePartner,
  roots,
  setIfChanged,
  str,
} from './store.js';
import { freshId, requireEpochMs, requireText } from './validate.js';

export interface AddBoundaryInput {
  readonly id?: BoundaryId;
  readonly text: string;
  readonly owner: PartnerId;
  readonly at: EpochMs;
}

export function addBoundary(
  doc: Y.Doc,
  input: AddBoundaryInput,
  newId: IdGenerator = randomId,
): BoundaryId {
  requireInitialised(doc);
  const body = requireText(input.text, 'Boundary', 1, Limits.boundaryText);
  const owner = requirePartner(doc, input.owner, 'owner');
  const at = requireEpochMs(input.at, 'at');
  const boundaries = roots(doc).boundaries;
  const id = freshId<BoundaryId>(input.id, newId, 'Boundary id', (i) => boundaries.has(i));
  doc.transact(() => {
    const boundary = new Y.Map<unknown>();
    boundary.set('id', id);
    boundary.set('text', body);
    boundary.set('owner', owner);
    boundary.set('createdBy', owner);
    boundary.set('createdAt', at);
    boundary.set('updatedAt', at);
    boundaries.set(id, boundary);
  }, Origin.addBoundary);
  return id;
}

function requireBoundary(doc: Y.Doc, id: unknown): Y.Map<unknown> {
  const boundary = typeof id === 'string' ? roots(doc).boundaries.get(id) : undefined;
  if (!(boundary instanceof Y.Map)) throw notFound('boundary', String(id));
  return boundary;
}

export interface EditBoundaryInput {
  readonly boundaryId: BoundaryId;
  readonly text: string;
  /** Must be the owner. An edit resets the other partner's acknowledgement. */
  readonly by: PartnerId;
  readonly at: EpochMs;
}

export function editBoundary(doc: Y.Doc, input: EditBoundaryInput): void {
  const boundary = requireBoundary(doc, input.boundaryId);
  const body = requireText(input.text, 'Boundary', 1, Limits.boundaryText);
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  if (str(boundary, 'owner') !== by) {
    throw new ModelError(
      ModelErrorCode.notAllowed,
      'Only the partner who set a boundary can change it.',
    );
  }
  doc.transact(() => {
    setIfChanged(boundary, 'text', body);
    boundary.set('updatedAt', at);
    // The fingerprint check in reads already ignores an old acknowledgement; deleting it too
    // keeps the stored document honest for anyone reading it raw.
    boundary.delete('acknowledgement');
  }, Origin.editBoundary);
}

export interface AcknowledgeBoundaryInput {
  readonly boundaryId: BoundaryId;
  /** Must be the partner who does not own it. */
  readonly by: PartnerId;
  /** `BoundarySnapshot.fingerprint` of the text shown; a stale one throws `stale-wording`. */
  readonly fingerprint: string;
  readonly at: EpochMs;
}

export function acknowledgeBoundary(doc: Y.Doc, input: AcknowledgeBoundaryInput): void {
  const boundary = requireBoundary(doc, input.boundaryId);
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  if (str(boundary, 'owner') === by) {
    throw new ModelError(
      ModelErrorCode.notAllowed,
      'A boundary is acknowledged by the other partner, not by the one who set it.',
    );
  }
  const fingerprint = textFingerprint(str(boundary, 'text'));
  if (input.fingerprint !== fingerprint) {
    throw new ModelError(
      ModelErrorCode.staleWording,
      'The boundary was changed after it was shown; read it again before acknowledging.',
    );
  }
  doc.transact(
    () => boundary.set('acknowledgement', { by, at, fingerprint }),
    Origin.acknowledgeBoundary,
  );
}

/**
 * The boundary as a snapshot, or `null` while its text or owner is missing: an edit whose
 * deletion of the old text arrived before the new text (SPEC.md, "Partial delivery"). An
 * `updatedAt` in the same position reads as `createdAt` until the rest arrives.
 */
function snapshot(id: BoundaryId, boundary: Y.Map<unknown>): BoundarySnapshot | null {
  const body = boundary.get('text');
  const owner = boundary.get('owner');
  const createdAt = numOrNull(boundary, 'createdAt');
  if (typeof body !== 'string' || body.trim() === '' || typeof owner !== 'string') return null;
  if (createdAt === null) return null;
  const fingerprint = textFingerprint(body);
  const ack = boundary.get('acknowledgement');
  const valid =
    isRecord(ack) &&
    ack['fingerprint'] === fingerprint &&
    typeof ack['by'] === 'string' &&
    ack['by'] !== owner &&
    typeof ack['at'] === 'number';
  return {
    id,
    text: body,
    owner: owner as PartnerId,
    createdAt,
    updatedAt: numOrNull(boundary, 'updatedAt') ?? createdAt,
    fingerprint,
    acknowledgement: valid ? { by: ack['by'] as PartnerId, at: ack['at'] as number } : null,
  };
}

export function getBoundary(doc: Y.Doc, boundaryId: BoundaryId): BoundarySnapshot | null {
  const boundary = roots(doc).boundaries.get(boundaryId);
  return boundary instanceof Y.Map ? snapshot(boundaryId, boundary) : null;
}

/** All boundaries, oldest first. */
export function listBoundaries(doc: Y.Doc): BoundarySnapshot[] {
  const out: BoundarySnapshot[] = [];
  for (const [id, b] of roots(doc).boundaries.entries()) {
    const s = b instanceof Y.Map ? snapshot(id as BoundaryId, b) : null;
    if (s) out.push(s);
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}
