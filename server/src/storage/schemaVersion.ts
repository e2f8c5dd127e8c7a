/**
 * Refusal to open a database whose schema a newer Mend wrote: this version does not know what the
 * newer migrations changed, so writing to it could corrupt what the newer version relies on.
 */
export class NewerSchemaError extends Error {
  override name = 'NewerSchemaError';

  constructor(where: string, found: number, known: number) {
    super(
      `${where} was written by a newer version of Mend (schema version ${found}; this version ` +
        `knows up to ${known}). Run that newer version, or restore a backup made with this one`,
    );
  }
}
