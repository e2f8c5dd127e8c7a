import type pg from 'pg';

/** One query inside a transaction (the client's `query`, bound). */
export type Query = <R extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values?: unknown[],
) => Promise<pg.QueryResult<R>>;

/**
 * Runs `work` in a transaction on one pooled connection: COMMIT if it resolves, ROLLBACK if it
 * throws. A connection whose rollback failed is destroyed instead of going back to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (q: Query) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const q: Query = (text, values) => client.query(text, values);
    const result = await work(q);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Takes the space's transaction-scoped advisory lock (see PostgresAdapter). */
export async function lockSpace(q: Query, lockKey: string): Promise<void> {
  await q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey]);
}

/** A plain Uint8Array copy: callers compare and keep bytes, not pooled Node Buffers. */
export function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer);
}
