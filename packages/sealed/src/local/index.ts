export {
  LocalSpaceStore,
  type LoadedSpace,
  type LocalSpaceStoreOptions,
} from './LocalSpaceStore.js';
export { isLocalStoreError, LocalStoreError, LocalStoreErrorReason } from './LocalStoreError.js';
export type { OutboxEntry, ReplicaRecord } from './records.js';
