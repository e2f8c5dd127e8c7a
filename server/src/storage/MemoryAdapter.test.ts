import { MemoryAdapter } from './MemoryAdapter.js';
import { defineDeviceLinkContract } from './deviceLinkContract.testkit.js';
import { defineDeviceStoreContract } from './deviceStoreContract.testkit.js';
import { defineReturnLinkContract } from './returnLinkContract.testkit.js';
import { defineEpochBoxContract } from './epochBoxContract.testkit.js';
import { definePlaintextSealContract } from './plaintextSealContract.testkit.js';
import { defineSealedLogContract } from './sealedLogContract.testkit.js';
import { defineSpaceDirectoryContract } from './spaceDirectoryContract.testkit.js';
import { defineUpdateLogContract } from './updateLogContract.testkit.js';

defineUpdateLogContract('memory', async () => new MemoryAdapter());
defineSpaceDirectoryContract('memory', async () => new MemoryAdapter());
defineSealedLogContract('memory', async () => new MemoryAdapter());
definePlaintextSealContract('memory', async () => new MemoryAdapter());
defineDeviceLinkContract('memory', async () => new MemoryAdapter());
defineReturnLinkContract('memory', async () => new MemoryAdapter());
defineDeviceStoreContract('memory', async () => new MemoryAdapter());
defineEpochBoxContract('memory', async () => new MemoryAdapter());
