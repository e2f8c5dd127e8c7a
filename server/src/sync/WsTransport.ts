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

/** ws's options for every send: the room's messages are binary. */
const BINARY = { binary: true } as const;

/** A send that fails means the socket is going away; its 'close' cleans up. */
function ignoreSendError(): void {}

/**
 * What a socket holds from the server while it is open (its room, its address's slot), given
 * back when it is gone: an object, not a closure with its context (memory per open socket).
 */
export interface SocketLease {
  /** Gives everything back. Called once the socket is gone; may be called again (a no-op). */
  release(): void;
}

/**
 * A `ws` connection seen as a RoomSocket, with what the transport's shared listeners need to
 * know of it: one object per socket, and no closure of its own.
 */
class WsConnection implements RoomSocket {
  readonly ws: WebSocket;
  readonly room: SocketHost;
  /** Whose credential opened it (WsTransport.closeMember). */
  readonly member: string;
  /** Released when the socket is gone. */
  readonly lease: SocketLease;
  /** Answered the last heartbeat's ping. */
  alive = true;
  readonly #maxBuffered: number;

  constructor(
    ws: WebSocket,
    room: SocketHost,
    member: string,
    lease: SocketLease,
    maxBuffered: number,
  ) {
    this.ws = ws;
    this.room = room;
    this.member = member;
    this.lease = lease;
    this.#maxBuffered = maxBuffered;
  }

  send(message: Uint8Array): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.#maxBuffered) {
      // A reader that stopped reading would make us hold everything sent to it. It reconnects
      // and resyncs from storage instead.
      this.ws.terminate();
      return;
    }
    try {
      this.ws.send(message, BINARY, ignoreSendError);
    } catch {
      this.ws.terminate();
    }
  }

  close(code: CloseCode): void {
    if (this.ws.readyState === this.ws.CLOSING || this.ws.readyState === this.ws.CLOSED) return;
    try {
      this.ws.close(code, closeReason[code]);
    } catch {
      this.ws.terminate();
    }
  }
}

/** The listeners every socket shares; `this` is the socket (EventEmitter calls them so). */
interface SharedListeners {
  pong(this: WebSocket): void;
  error(this: WebSocket, error: Error & { code?: string }): void;
  message(this: WebSocket, data: RawData, isBinary: boolean): void;
  close(this: WebSocket): void;
}

/**
 * The only place that knows about `ws`: completes authorised upgrades and connects each socket
 * to its room. Message size (including fragmented messages) is enforced by ws's maxPayload,
 * which closes with 1009. Every socket shares one set of listeners, which find its connection
 * by the socket: an idle socket holds no closures (memory per connected couple).
 */
export class WsTransport {
  readonly #wss: WebSocketServer;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  /**
   * Open sockets and their connections. No second map by member: revoking is rare, and finds
   * its sockets by a scan (closeMember), where a map would hold a set for every open socket
   * (memory per connected couple).
   */
  readonly #open = new Map<WebSocket, WsConnection>();
  /** Sockets whose credential was revoked: nothing they send reaches a room any more. */
  readonly #revoked = new WeakSet<WebSocket>();
  /**
   * Members whose sockets were ended in the last REVOKED_MEMORY_MS (their token revoked, or
   * their plaintext space sealed), with the code: an upgrade authorised just before but
   * completed after is closed at once with it instead of slipping through.
   */
  readonly #recentlyRevoked = new Map<string, CloseCode>();
  readonly #maxBuffered: number;
  readonly #listeners: SharedListeners;
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
    // The transport's side of each listener; the listener itself is called with the socket as
    // `this`, and hands it over.
    const on = {
      pong: (ws: WebSocket) => {
        const connection = this.#open.get(ws);
        if (connection) connection.alive = true;
      },
      error: (ws: WebSocket, error: Error & { code?: string }) => this.#error(ws, error),
      message: (ws: WebSocket, data: RawData, isBinary: boolean) =>
        this.#message(ws, data, isBinary),
      close: (ws: WebSocket) => this.#closed(ws),
    };
    this.#listeners = {
      pong() {
        on.pong(this);
      },
      error(error) {
        on.error(this, error);
      },
      message(data, isBinary) {
        on.message(this, data, isBinary);
      },
      close() {
        on.close(this);
      },
    };
    // A phone that vanished without closing (tunnel, flight mode) would hold its socket and its
    // presence for hours: ping everyone periodically, and end sockets that did not pong.
    this.#heartbeat = setInterval(() => this.#checkAlive(), options.heartbeatMs ?? 30_000);
    this.#heartbeat.unref();
  }

  /**
   * Completes the upgrade and attaches the socket to `room`. `lease` is released when the
   * socket is gone (or if the upgrade never completes). `member` names whose credential opened
   * it (see closeMember).
   */
  accept(
    req: IncomingMessage,
    stream: Duplex,
    head: Buffer,
    room: SocketHost,
    lease: SocketLease,
    member: string,
  ): void {
    // Upgrade aborted before ws took over (client went away). Removed once it took over: from
    // then on the socket's 'close' releases the lease.
    const aborted = (): void => lease.release();
    stream.once('close', aborted);
    this.#wss.handleUpgrade(req, stream, head, (ws) => {
      stream.off('close', aborted);
      const connection = new WsConnection(ws, room, member, lease, this.#maxBuffered);
      this.#open.set(ws, connection);
      this.#metrics.openSockets.inc();
      const listeners = this.#listeners;
      ws.on('pong', listeners.pong);
      ws.on('error', listeners.error);
      ws.on('message', listeners.message);
      ws.on('close', listeners.close);
      try {
        room.attach(connection);
      } catch (error) {
        this.#unexpected(ws, room, error);
      }
      const ended = this.#recentlyRevoked.get(member);
      if (ended !== undefined) this.#endRevoked(ws, ended);
    });
  }

  #error(ws: WebSocket, error: Error & { code?: string }): void {
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#metrics.reject('too-big');
    else this.#log.debug({ err: error, spaceId: this.#open.get(ws)?.room.spaceId }, 'socket error');
  }

  #message(ws: WebSocket, data: RawData, isBinary: boolean): void {
    const connection = this.#open.get(ws);
    if (!connection || this.#revoked.has(ws)) return;
    const { room } = connection;
    try {
      if (!isBinary) {
        this.#metrics.reject('text-frame');
        connection.close(CloseCode.unsupportedData);
        room.detach(connection);
        return;
      }
      room.receive(connection, toBytes(data));
    } catch (error) {
      this.#unexpected(ws, room, error);
    }
  }

  #closed(ws: WebSocket): void {
    const connection = this.#open.get(ws);
    if (!connection) return;
    this.#open.delete(ws);
    const { room } = connection;
    this.#metrics.openSockets.dec();
    try {
      room.detach(connection);
    } catch (error) {
      this.#unexpected(ws, room, error);
    }
    connection.lease.release();
  }

  /** The last line of defence: nothing thrown in a socket callback reaches the event loop. */
  #unexpected(ws: WebSocket, room: SocketHost, error: unknown): void {
    this.#log.error({ err: error, spaceId: room.spaceId }, 'unexpected error on a socket');
    ws.terminate();
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

  /**
   * Closes every open socket with `code` (shutdown). Resolves once each finished its closing
   * handshake, so clients see `code` rather than an abrupt 1006.
   */
  closeAll(code: CloseCode): Promise<void> {
    clearInterval(this.#heartbeat);
    const closed = [...this.#open.keys()].map(
      (ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())),
    );
    for (const ws of this.#open.keys()) ws.close(code, closeReason[code]);
    return Promise.all(closed).then(() => undefined);
  }

  /**
   * Closes every open socket that `member`'s credential opened (its token was revoked, or its
   * plaintext space sealed), with `code`. Returns how many it closed.
   */
  closeMember(member: string, code: CloseCode): number {
    this.#recentlyRevoked.set(member, code);
    setTimeout(() => this.#recentlyRevoked.delete(member), REVOKED_MEMORY_MS).unref();
    const sockets: WebSocket[] = [];
    for (const [ws, connection] of this.#open) if (connection.member === member) sockets.push(ws);
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
    for (const [ws, connection] of this.#open) {
      if (!connection.alive) {
        ws.terminate();
        continue;
      }
      connection.alive = false;
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }
  }

  /** Forcibly ends sockets that did not finish their closing handshake in time. */
  terminateAll(): void {
    for (const ws of this.#open.keys()) ws.terminate();
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
