import type Database from 'better-sqlite3';

interface Pending {
  run: () => unknown;
  resolve: (value: never) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for SQLite: writes queued in the same event-loop tick share one transaction, so
 * one fsync (synchronous=FULL) covers many edits under load, with no added latency when idle.
 * Each write runs in a savepoint of its own, so one that fails (a deleted space) fails alone.
 * The transaction is IMMEDIATE: a write that reads before it writes (the sealed chain check)
 * holds the write lock from its first read, so another process cannot commit in between.
 */
export class SqliteGroupCommit {
  readonly #db: Database.Database;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Queues `work`; resolves with what it returned once its transaction committed. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ run: work, resolve: resolve as (value: never) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits whatever is queued now (also called on close). */
  flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const outcomes: ({ value: unknown } | { error: unknown })[] = [];
    try {
      this.#db
        .transaction(() => {
          for (const write of batch) {
            try {
              outcomes.push({ value: this.#db.transaction(write.run)() });
            } catch (error) {
              outcomes.push({ error });
            }
          }
        })
        .immediate();
    } catch (error) {
      for (const write of batch) write.reject(error);
      return;
    }
    batch.forEach((write, i) => {
      const outcome = outcomes[i];
      if (outcome && 'value' in outcome) write.resolve(outcome.value as never);
      else write.reject(outcome?.error ?? new Error('write failed'));
    });
  }
}
