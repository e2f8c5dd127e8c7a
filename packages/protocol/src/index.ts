export * from './ids.js';
export * from './closeCodes.js';
