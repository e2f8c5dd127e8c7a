// The floor: a WebSocket relay that rebroadcasts every frame to the other sockets of the same
// room, with no document, no validation and no storage. No sync server can beat it.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const rooms = new Map();
const server = http.createServer((_req, res) => res.end('relay'));
const wss = new WebSocketServer({ server });

wss.on('connection', (socket, req) => {
  const room = (req.url ?? '/').slice(1).split('?')[0];
  let peers = rooms.get(room);
  if (peers === undefined) {
    peers = new Set();
    rooms.set(room, peers);
  }
  peers.add(socket);
  socket.on('message', (data, isBinary) => {
    for (const peer of peers) {
      if (peer !== socket && peer.readyState === 1) peer.send(data, { binary: isBinary });
    }
  });
  socket.on('close', () => {
    peers.delete(socket);
    if (peers.size === 0) rooms.delete(room);
  });
  socket.on('error', () => socket.terminate());
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address();
  console.log(JSON.stringify({ msg: 'listening', port }));
});
