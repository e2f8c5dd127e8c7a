import { MemoryAdapter } from './MemoryAdapter.js';
import { defineSpaceDirectoryContract } from './spaceDirectoryContract.testkit.js';
import { defineUpdateLogContract } from './updateLogContract.testkit.js';

defineUpdateLogContract('memory', async () => new MemoryAdapter());
defineSpaceDirectoryContract('memory', async () => new MemoryAdapter());
