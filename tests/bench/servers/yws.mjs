// The reference: @y/websocket-server as its README runs it (in memory, no persistence).
// BENCH_PRELOAD_FILE + BENCH_PRELOAD_ROOM put a document in memory before listening, so that the
// cold-load scenario compares Mend reading from disk with the reference serving from memory.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { WebSocketServer } from 'ws';
import * as Y from 'yjs';
import { getYDoc, setupWSConnection } from '@y/websocket-server/utils';

const preloadFile = process.env.BENCH_PRELOAD_FILE;
const preloadRoom = process.env.BENCH_PRELOAD_ROOM;
if (preloadFile !== undefined && preloadRoom !== undefined) {
  Y.applyUpdate(getYDoc(preloadRoom), readFileSync(preloadFile));
}

const wss = new WebSocketServer({ noServer: true });
const server = http.createServer((_req, res) => res.end('okay'));
wss.on('connection', setupWSConnection);
server.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address();
  console.log(JSON.stringify({ msg: 'listening', port }));
});
