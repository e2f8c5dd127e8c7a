import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import {
  acknowledgeBoundary,
  addBoundary,
  editBoundary,
  getBoundary,
  listBoundaries,
} from './boundaries.js';
import { ModelErrorCode } from './errors.js';
import type { BoundaryId } from './ids.js';
import { Origin } from './origin.js';
import {
  A,
  B,
  T0,
  codeOf,
  originsOf,
  replicaOf,
  sync,
  twoPartnerSpace,
} from './testing/fixtures.js';

function add(doc: Y.Doc) {
  return addBoundary(doc, { text: 'No phone checks without asking.', owner: A, at: T0 });
}

function acknowledge(doc: Y.Doc, id: BoundaryId, at = T0 + 10) {
  acknowledgeBoundary(doc, {
    boundaryId: id,
    by: B,
    fingerprint: getBoundary(doc, id)!.fingerprint,
    at,
  });
}

describe('boundaries', () => {
  it('a boundary records its owner and time and starts unacknowledged', () => {
    const doc = twoPartnerSpace();
    let id = '' as BoundaryId;
    expect(originsOf(doc, () => (id = add(doc)))).toEqual([Origin.addBoundary]);
    expect(getBoundary(doc, id)).toMatchObject({
      text: 'No phone checks without asking.',
      owner: A,
      createdAt: T0,
      updatedAt: T0,
      acknowledgement: null,
    });
  });

  it('the other partner acknowledges it; an edit by the owner resets the acknowledgement', () => {
    const doc = twoPartnerSpace();
    const id = add(doc);
    expect(originsOf(doc, () => acknowledge(doc, id))).toEqual([Origin.acknowledgeBoundary]);
    expect(getBoundary(doc, id)!.acknowledgement).toEqual({ by: B, at: T0 + 10 });
    expect(
      originsOf(doc, () =>
        editBoundary(doc, { boundaryId: id, text: 'Ask first.', by: A, at: T0 + 20 }),
      ),
    ).toEqual([Origin.editBoundary]);
    expect(getBoundary(doc, id)).toMatchObject({
      text: 'Ask first.',
      updatedAt: T0 + 20,
      acknowledgement: null,
    });
  });

  it('an acknowledgement made concurrently with an edit does not count for the new text', () => {
    const doc = twoPartnerSpace();
    const id = add(doc);
    const other = replicaOf(doc);
    acknowledge(other, id);
    editBoundary(doc, { boundaryId: id, text: 'Ask first.', by: A, at: T0 + 20 });
    sync(doc, other);
    expect(getBoundary(doc, id)!.acknowledgement).toBeNull();
    expect(getBoundary(other, id)).toEqual(getBoundary(doc, id));
  });

  it('only the owner edits, only the other partner acknowledges, and only the text shown', () => {
    const doc = twoPartnerSpace();
    const id = add(doc);
    expect(codeOf(() => editBoundary(doc, { boundaryId: id, text: 'x', by: B, at: T0 }))).toBe(
      ModelErrorCode.notAllowed,
    );
    const fingerprint = getBoundary(doc, id)!.fingerprint;
    expect(
      codeOf(() => acknowledgeBoundary(doc, { boundaryId: id, by: A, fingerprint, at: T0 })),
    ).toBe(ModelErrorCode.notAllowed);
    expect(
      codeOf(() => acknowledgeBoundary(doc, { boundaryId: id, by: B, fingerprint: 'old', at: T0 })),
    ).toBe(ModelErrorCode.staleWording);
    expect(codeOf(() => addBoundary(doc, { text: ' ', owner: A, at: T0 }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(listBoundaries(doc)).toHaveLength(1);
    expect(getBoundary(doc, id)!.acknowledgement).toBeNull();
  });
});
