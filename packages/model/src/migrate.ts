import type * as Y from 'yjs';

const todo = (): never => {
  throw new Error('not implemented yet');
};

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
  /** False when the document was already current (nothing written). */
  readonly migrated: boolean;
}

/** The schema version a document was written with: 0 for a pre-release document, null if empty. */
export function schemaVersionOf(_doc: Y.Doc): number | null {
  return todo();
}

/**
 * Brings a document written by an earlier schema up to `SCHEMA_VERSION`, in one transaction.
 * Idempotent. Throws `schema-too-new` for a newer document. Run it where the document is loaded
 * authoritatively (the server, before serving), so two replicas do not migrate concurrently.
 */
export function migrate(_doc: Y.Doc): MigrationResult {
  return todo();
}
