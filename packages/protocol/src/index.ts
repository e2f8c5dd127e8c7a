export * from './ids.js';
export * from './idSchemas.js';
export * from './closeCodes.js';
export * from './api.js';
export * from './messages.js';
export * from './sealedEnvelope.js';
export * from './sealedWire.js';
export * from './sealedApi.js';
