export { createMendServer, type MendServer, type MendServerOptions } from './MendServer.js';
export { parseConfig, defaultLimits, ConfigError, type Config, type Limits } from './config.js';
export type { StorageAdapter } from './storage/StorageAdapter.js';
export { MemoryAdapter } from './storage/MemoryAdapter.js';
export { SqliteAdapter } from './storage/SqliteAdapter.js';
export type { PubSub } from './pubsub/PubSub.js';
export { MemoryPubSub, MemoryPubSubHub } from './pubsub/MemoryPubSub.js';
