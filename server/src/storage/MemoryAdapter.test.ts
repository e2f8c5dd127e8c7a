import { MemoryAdapter } from './MemoryAdapter.js';
import { defineStorageContract } from './storageContract.testkit.js';

defineStorageContract('memory', async () => new MemoryAdapter());
