export { createMendServer, type MendServer, type MendServerOptions } from './MendServer.js';
export { parseConfig, defaultLimits, ConfigError, type Config, type Limits } from './config.js';
export type { StorageAdapter } from './storage/StorageAdapter.js';
export type { PubSub } from './pubsub/PubSub.js';
