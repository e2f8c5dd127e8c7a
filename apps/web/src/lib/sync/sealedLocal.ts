// Loaded on demand, before sealedSync.ts: reading a sealed space's local copy needs IndexedDB,
// Yjs and WebCrypto only, so the space is on screen before the signing and encryption code
// (sealedSync.ts, about a third of a first load) has arrived.
export { openLocalCopy, type LocalCopy } from '@mend/sealed';
