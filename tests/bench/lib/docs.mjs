import * as Y from 'yjs';

const sameBytes = (x, y) => x.length === y.length && x.every((byte, i) => byte === y[i]);

/** True when the document holds every struct the expected state vector names. */
export function hasState(doc, stateVector) {
  return sameBytes(Y.encodeStateVector(doc), stateVector);
}

/** Resolves once `done()` holds, re-checking after every update to any of the documents. */
export function until(docs, done) {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (done()) {
        for (const doc of docs) doc.off('update', check);
        resolve();
      }
    };
    for (const doc of docs) doc.on('update', check);
  });
}

/** Two replicas are identical when they hold the same structs and the same deletions. */
export function identical(a, b) {
  return (
    sameBytes(Y.encodeStateVector(a), Y.encodeStateVector(b)) &&
    sameBytes(Y.encodeStateAsUpdate(a), Y.encodeStateAsUpdate(b))
  );
}
