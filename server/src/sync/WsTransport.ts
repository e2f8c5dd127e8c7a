import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, SEALED_SUBPROTOCOL, closeReason } from '@mend/protocol';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RoomSocket, SocketHost } from './RoomSocket.js';

/** How long a revoked socket gets to finish its closing handshake before it is cut. */
const REVOKED_CLOSE_GRACE_MS = 500;

/** Longer than any upgrade takes from its credential check to its 101 answer. */
const REVOKED_MEMORY_MS = 30_000;

/** A `ws` connection seen as a RoomSocket. */
class WsRoomSocket implements RoomSocket {
  readonly #ws: WebSocket;
  readonly #maxBuffered: number;

  constructor(ws: WebSocket, maxBuffered: number) {
    this.#ws = ws;
    this.#maxBuffered = maxBuffered;
  }

  send(message: Uint8Array): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#ws.bufferedAmount > this.#maxBuffered) {
      // A reader that stopped reading would make us hold everything sent to it. It reconnects
      // and resyncs from storage instead.
      this.#ws.terminate();
      return;
    }
    try {
      this.#ws.send(message, { binary: true }, () => {
        // A send that fails means the socket is going away; its 'close' cleans up.
      });
    } catch {
      this.#ws.terminate();
    }
  }

  close(code: CloseCode): void {
    if (this.#ws.readyState === this.#ws.CLOSING || this.#ws.readyState === this.#ws.CLOSED) return;
    try {
      this.#ws.close(code, closeReason[code]);
    } catch {
      this.#ws.terminate();
    }
  }
}

/**
 * The only place that knows about `ws`: completes authorised upgrades and connects each socket
 * to its room. Message size (including fragmented messages) is enforced by ws's maxPayload,
 * which closes with 1009.
 */
export class WsTransport {
  readonly #wss: WebSocketServer;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #open = new Set<WebSocket>();
  /** Open sockets by the member (device or partner) whose credential opened them. */
  readonly #byMember = new Map<string, Set<WebSocket>>();
  /** Sockets whose credential was revoked: nothing they send reaches a room any more. */
  readonly #revoked = new WeakSet<WebSocket>();
  /**
   * Members whose sockets were ended in the last REVOKED_MEMORY_MS (their token revoked, or
   * their plaintext space sealed), with the code: an upgrade authorised just before but
   * completed after is closed at once with it instead of slipping through.
   */
  readonly #recentlyRevoked = new Map<string, CloseCode>();
  readonly #maxBuffered: number;

  readonly #alive = new WeakSet<WebSocket>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(options: {
    maxMessageBytes: number;
    metrics: Metrics;
    log: Logger;
    heartbeatMs?: number;
  }) {
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // The upgrade was already checked against the space (MendServer): the sealed socket's
      // subprotocol is confirmed, and no other is (ws would otherwise echo the first offered).
      handleProtocols: (protocols) =>
        protocols.has(SEALED_SUBPROTOCOL) ? SEALED_SUBPROTOCOL : false,
    });
    this.#metrics = options.metrics;
    this.#log = options.log;
    this.#maxBuffered = 2 * options.maxMessageBytes + (1 << 20);
    // A phone that vanished without closing (tunnel, flight mode) would hold its socket and its
    // presence for hours: ping everyone periodically, and end sockets that did not pong.
    this.#heartbeat = setInterval(() => this.#checkAlive(), options.heartbeatMs ?? 30_000);
    this.#heartbeat.unref();
  }

  /**
   * Completes the upgrade and attaches the socket to `room`. `onClosed` runs exactly once,
   * when the socket is gone (or if the upgrade never completes). `member` names whose
   * credential opened it (see closeMember).
   */
  accept(
    req: IncomingMessage,
    stream: Duplex,
    head: Buffer,
    room: SocketHost,
    onClosed: () => void,
    member: string,
  ): void {
    let settled = false;
    let upgraded = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      onClosed();
    };
    stream.once('close', () => {
      // Upgrade aborted before ws took over (client went away).
      if (!upgraded) settle();
    });
    this.#wss.handleUpgrade(req, stream, head, (ws) => {
      upgraded = true;
      this.#open.add(ws);
      const ofMember = this.#byMember.get(member) ?? new Set<WebSocket>();
      ofMember.add(ws);
      this.#byMember.set(member, ofMember);
      this.#alive.add(ws);
      ws.on('pong', () => this.#alive.add(ws));
      this.#metrics.openSockets.inc();
      const socket = new WsRoomSocket(ws, this.#maxBuffered);
      ws.on('error', (error: Error & { code?: string }) => {
        if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#metrics.reject('too-big');
        else this.#log.debug({ err: error, spaceId: room.spaceId }, 'socket error');
      });
      ws.on('message', (data: RawData, isBinary: boolean) =>
        this.#guard(ws, room, () => {
          if (this.#revoked.has(ws)) return;
          if (!isBinary) {
            this.#metrics.reject('text-frame');
            socket.close(CloseCode.unsupportedData);
            room.detach(socket);
            return;
          }
          room.receive(socket, toBytes(data));
        }),
      );
      ws.on('close', () => {
        this.#open.delete(ws);
        ofMember.delete(ws);
        if (ofMember.size === 0 && this.#byMember.get(member) === ofMember) {
          this.#byMember.delete(member);
        }
        this.#metrics.openSockets.dec();
        this.#guard(ws, room, () => room.detach(socket));
        settle();
      });
      this.#guard(ws, room, () => room.attach(socket));
      const ended = this.#recentlyRevoked.get(member);
      if (ended !== undefined) this.#endRevoked(ws, ended);
    });
  }

  /**
   * Completes the upgrade only to close the socket at once with `code`: what a browser's page
   * can see of a refusal (a refused upgrade shows as 1006), for a socket the server will not
   * serve but whose reason the device should act on (4410: its space was sealed).
   */
  acceptAndClose(req: IncomingMessage, stream: Duplex, head: Buffer, code: CloseCode): void {
    this.#wss.handleUpgrade(req, stream, head, (ws) => {
      ws.on('error', () => ws.terminate());
      this.#endRevoked(ws, code);
    });
  }

  /** The last line of defence: nothing thrown in a socket callback reaches the event loop. */
  #guard(ws: WebSocket, room: SocketHost, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.#log.error({ err: error, spaceId: room.spaceId }, 'unexpected error on a socket');
      ws.terminate();
    }
  }

  /**
   * Closes every open socket with `code` (shutdown). Resolves once each finished its closing
   * handshake, so clients see `code` rather than an abrupt 1006.
   */
  closeAll(code: CloseCode): Promise<void> {
    clearInterval(this.#heartbeat);
    const closed = [...this.#open].map(
      (ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())),
    );
    for (const ws of this.#open) ws.close(code, closeReason[code]);
    return Promise.all(closed).then(() => undefined);
  }

  /**
   * Closes every open socket that `member`'s credential opened (its token was revoked, or its
   * plaintext space sealed), with `code`. Returns how many it closed.
   */
  closeMember(member: string, code: CloseCode): number {
    this.#recentlyRevoked.set(member, code);
    setTimeout(() => this.#recentlyRevoked.delete(member), REVOKED_MEMORY_MS).unref();
    const sockets = [...(this.#byMember.get(member) ?? [])];
    for (const ws of sockets) this.#endRevoked(ws, code);
    return sockets.length;
  }

  #endRevoked(ws: WebSocket, code: CloseCode): void {
    this.#revoked.add(ws);
    ws.close(code, closeReason[code]);
    // A client that never answers the close frame would otherwise hold the socket (and its
    // place in the room) for ws's 30 s closing timeout.
    setTimeout(() => ws.terminate(), REVOKED_CLOSE_GRACE_MS).unref();
  }

  #checkAlive(): void {
    for (const ws of this.#open) {
      if (!this.#alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.#alive.delete(ws);
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }
  }

  /** Forcibly ends sockets that did not finish their closing handshake in time. */
  terminateAll(): void {
    for (const ws of this.#open) ws.terminate();
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
