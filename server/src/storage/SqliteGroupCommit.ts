import type Database from 'better-sqlite3';

interface Pending {
  run: () => unknown;
  resolve: (value: never) => void;
  reject: (error: unknown) => void;
}

type Outcome = { value: unknown } | { error: unknown };

/**
 * Group commit for SQLite: writes queued in the same event-loop tick share one transaction, so
 * one fsync (synchronous=FULL) covers many edits under load, with no added latency when idle.
 * Each write runs in a savepoint of its own, so one that fails (a deleted space) fails alone.
 * The transaction is IMMEDIATE: a write that reads before it writes (the sealed chain check)
 * holds the write lock from its first read, so another process cannot commit in between.
 */
export class SqliteGroupCommit {
  /** The batch's transaction, compiled once (better-sqlite3 builds a wrapper per `transaction`). */
  readonly #commit: (batch: Pending[], outcomes: Outcome[]) => void;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(db: Database.Database) {
    // Called inside the batch's transaction, this one is a savepoint.
    const inSavepoint = db.transaction((work: () => unknown) => work());
    this.#commit = db.transaction((batch: Pending[], outcomes: Outcome[]) => {
      for (const write of batch) {
        try {
          outcomes.push({ value: inSavepoint(write.run) });
        } catch (error) {
          outcomes.push({ error });
        }
      }
    }).immediate;
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
    const outcomes: Outcome[] = [];
    try {
      this.#commit(batch, outcomes);
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
