import type * as Y from 'yjs';
import type { BoundaryId, IdGenerator, PartnerId } from './ids.js';
import type { BoundarySnapshot, EpochMs } from './schema.js';

const todo = (): never => {
  throw new Error('not implemented yet');
};

export interface AddBoundaryInput {
  readonly id?: BoundaryId;
  readonly text: string;
  readonly owner: PartnerId;
  readonly at: EpochMs;
}

export function addBoundary(
  _doc: Y.Doc,
  _input: AddBoundaryInput,
  _newId?: IdGenerator,
): BoundaryId {
  return todo();
}

export interface EditBoundaryInput {
  readonly boundaryId: BoundaryId;
  readonly text: string;
  /** Must be the owner. An edit resets the other partner's acknowledgement. */
  readonly by: PartnerId;
  readonly at: EpochMs;
}

export function editBoundary(_doc: Y.Doc, _input: EditBoundaryInput): void {
  todo();
}

export interface AcknowledgeBoundaryInput {
  readonly boundaryId: BoundaryId;
  /** Must be the partner who does not own it. */
  readonly by: PartnerId;
  /** `BoundarySnapshot.fingerprint` of the text shown; a stale one throws `stale-wording`. */
  readonly fingerprint: string;
  readonly at: EpochMs;
}

export function acknowledgeBoundary(_doc: Y.Doc, _input: AcknowledgeBoundaryInput): void {
  todo();
}

export function getBoundary(_doc: Y.Doc, _boundaryId: BoundaryId): BoundarySnapshot | null {
  return todo();
}

/** All boundaries, oldest first. */
export function listBoundaries(_doc: Y.Doc): BoundarySnapshot[] {
  return todo();
}
