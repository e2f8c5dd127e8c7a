/**
 * `promise`, or the error `cancelled()` makes as soon as `signal` aborts: each flow (linking,
 * removal, the recovery kit) says cancelled in its own error type. The promise itself runs on;
 * only the wait for it ends.
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  cancelled: () => Error,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
