// Hocuspocus in memory (no extensions), as a developer would first deploy it.
// BENCH_PRELOAD_FILE + BENCH_PRELOAD_ROOM: a document held in memory by a direct connection.
import { readFileSync } from 'node:fs';
import { Server } from '@hocuspocus/server';
import * as Y from 'yjs';

const server = new Server({
  port: Number(process.env.PORT ?? 0),
  address: process.env.HOST ?? '127.0.0.1',
  quiet: true,
  stopOnSignals: true,
});

const preloadFile = process.env.BENCH_PRELOAD_FILE;
const preloadRoom = process.env.BENCH_PRELOAD_ROOM;
if (preloadFile !== undefined && preloadRoom !== undefined) {
  const update = readFileSync(preloadFile);
  const direct = await server.hocuspocus.openDirectConnection(preloadRoom);
  await direct.transact((doc) => Y.applyUpdate(doc, update));
}

await server.listen();
console.log(JSON.stringify({ msg: 'listening', port: server.address.port }));
