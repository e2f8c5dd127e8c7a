// Tests run in Node; y-indexeddb gets a real, spec-following IndexedDB implementation.
import 'fake-indexeddb/auto';
