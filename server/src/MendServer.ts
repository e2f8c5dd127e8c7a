import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { CloseCode, type ErrorResponse, type SpaceId } from '@mend/protocol';
import type { Config } from './config.js';
import { AddressSlots } from './http/AddressSlots.js';
import { clientAddressKey, type AddressKey } from './http/clientAddress.js';
import { HttpApi } from './http/HttpApi.js';
import { serveMetrics } from './http/metricsEndpoint.js';
import { StaticSite } from './http/StaticSite.js';
import {
  acceptedOrigins,
  asksForSealedSocket,
  authorizeSync,
  memberKey,
  NOT_SEALED,
  syncPathSpaceId,
  type SyncMember,
} from './http/syncAuth.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { openPubSub } from './pubsub/openPubSub.js';
import { encodeMembersEnded, type MembersEnded } from './pubsub/membersEnded.js';
import type { PubSub } from './pubsub/PubSub.js';
import { BusKind, SpaceBus } from './pubsub/SpaceBus.js';
import { DeviceLinks } from './spaces/DeviceLinks.js';
import { DeviceRoster } from './spaces/DeviceRoster.js';
import { Spaces } from './spaces/Spaces.js';
import { DocStore } from './storage/DocStore.js';
import { openStorage } from './storage/openStorage.js';
import type { StorageAdapter } from './storage/StorageAdapter.js';
import { SealedRoom } from './sealed/SealedRoom.js';
import { spaceStateIn } from './sync/Room.js';
import { Rooms, documentRooms, type ManagedRoom } from './sync/Rooms.js';
import type { SocketHost } from './sync/RoomSocket.js';
import { WsTransport, type SocketLease } from './sync/WsTransport.js';

/** Why an upgrade is refused while the server starts or stops. */
const RESTARTING = 'Mend is restarting. Please try again in a moment.';

export interface MendServerOptions {
  /** Defaults to a pino logger at `config.logLevel`. */
  log?: Logger;
  /** Defaults to the adapter `config` selects (SQLite, or PostgreSQL with DATABASE_URL). */
  storage?: StorageAdapter;
  /** Defaults to the pub/sub `config` selects (in-process, or Redis with REDIS_URL). */
  pubsub?: PubSub;
  /**
   * The clock device links and recovery challenges expire by, and devices are seen by; defaults
   * to `Date.now` (tests move it).
   */
  now?: () => number;
}

export interface MendServer {
  /**
   * Opens storage, migrates, and listens. Resolves with the bound port and URL, and the port of
   * the metrics listener on 127.0.0.1 (null when MEND_METRICS_PORT is not set).
   */
  start(): Promise<{ port: number; url: string; metricsPort: number | null }>;
  /**
   * Graceful shutdown: stop accepting, close sockets with 1001, finish pending writes, close
   * storage. Resolves when done (or after the shutdown timeout, having forced what was left).
   */
  stop(): Promise<void>;
}

/** Builds the whole server: HTTP API, sync WebSocket and static web app on one port. */
export async function createMendServer(
  config: Config,
  options: MendServerOptions = {},
): Promise<MendServer> {
  const log = options.log ?? createLogger(config.logLevel);
  const metrics = new Metrics();
  const storage = options.storage ?? (await openStorage(config, log));
  const pubsub = options.pubsub ?? (await openPubSub(config, log));
  const bus = new SpaceBus(pubsub);
  const docStore = new DocStore(storage, config.limits, {
    metrics,
    log,
    maxSpaceBytes: config.maxSpaceBytes,
  });
  const spaceExists = async (spaceId: SpaceId): Promise<boolean> =>
    (await storage.getSpace(spaceId)) !== null;
  const spaceState = spaceStateIn(storage);
  const transport = new WsTransport({
    maxMessageBytes: config.maxMessageBytes,
    metrics,
    log,
    heartbeatMs: config.limits.heartbeatMs,
  });
  const closeMembers = (ended: MembersEnded): void => {
    for (const member of ended.members) transport.closeMember(member, ended.code);
  };
  const rooms = new Rooms(
    documentRooms({
      docStore,
      bus,
      metrics,
      log,
      limits: config.limits,
      spaceState,
      closeMembers,
    }),
    config.limits.roomGraceMs,
    config.limits.roomSleepAfterMs,
    config.maxLiveBytes,
  );
  const sealedDeps = {
    storage,
    bus,
    metrics,
    log,
    limits: config.limits,
    maxSpaceBytes: config.maxSpaceBytes,
    spaceExists,
    closeMembers,
  };
  const sealedRooms = new Rooms<SealedRoom>(
    {
      load: (spaceId) => SealedRoom.load(spaceId, sealedDeps),
      forget: () => {},
      metrics,
      log,
      limits: config.limits,
    },
    config.limits.roomGraceMs,
    config.limits.roomSleepAfterMs,
    config.maxLiveBytes,
  );
  const site = new StaticSite(config.webDir);
  let ready = false;
  let stopping: Promise<void> | null = null;
  const spaces = new Spaces({ directory: storage, rooms, log });
  const now = options.now ?? Date.now;
  const links = new DeviceLinks({ links: storage.links, directory: storage, log, metrics, now });
  const roster = new DeviceRoster({
    devices: storage.devices,
    epochBoxes: storage.epochBoxes,
    directory: storage,
    log,
    metrics,
    now,
  });
  const api = new HttpApi({
    config,
    directory: storage,
    spaces,
    links,
    roster,
    site,
    log,
    isReady: () => ready,
    endMembers: async (spaceId, ended) => {
      // This process: the members' sockets (and upgrades in flight) close now; a sealed space's
      // plaintext document leaves memory now rather than after its grace.
      closeMembers(ended);
      if (ended.code === CloseCode.sealedNow) rooms.loaded(spaceId)?.endSealed();
      // The others, through the space's bus: the rooms there do the same (Room, SealedRoom).
      await bus
        .publish(spaceId, BusKind.membersEnded, encodeMembersEnded(ended))
        .catch((error: unknown) => {
          log.warn({ err: error, spaceId }, 'could not tell the other processes to end sockets');
        });
    },
  });
  const { headersTimeoutMs, requestTimeoutMs } = config.limits;
  const activeTimeouts = [headersTimeoutMs, requestTimeoutMs].filter((ms) => ms > 0);
  const http: Server = createServer(
    {
      // Node refuses a headers timeout longer than the request timeout; the shorter one wins.
      headersTimeout:
        requestTimeoutMs > 0 ? Math.min(headersTimeoutMs, requestTimeoutMs) : headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // Node enforces both timeouts only when it sweeps its connections (every 30 s by
      // default), which would let a slow client hold on far longer than the timeout says.
      connectionsCheckingInterval:
        activeTimeouts.length === 0
          ? 30_000
          : Math.max(50, Math.min(1_000, Math.floor(Math.min(...activeTimeouts) / 4))),
    },
    (req, res) => void api.handle(req, res),
  );
  // Past the cap node closes new connections at once, so a flood cannot exhaust file handles.
  http.maxConnections = config.limits.maxConnections;
  http.on('drop', () => log.debug('refused a connection: too many are open'));
  const metricsHttp: Server | null =
    config.metricsPort === null ? null : createServer(serveMetrics(metrics));
  const socketSlots = new AddressSlots(config.limits.socketsPerAddress);
  const stopRecoveryListener = bus.onRecovered(() => {
    log.warn('pub/sub reconnected; resyncing loaded rooms from storage');
    rooms.resyncAll();
    sealedRooms.resyncAll();
  });

  async function upgrade(req: IncomingMessage, stream: Duplex, head: Buffer): Promise<void> {
    stream.on('error', destroyOnError);
    if (!ready) return refuseUpgrade(stream, 503, RESTARTING);
    // Refused with a plain 429 before the upgrade (not accepted and closed with 1013): it costs
    // no room, no storage lookup and no WebSocket byte, and the app already backs off and
    // retries a socket that could not open. The slot is held for as long as the TCP
    // connection lives, whichever way it ends.
    const address = clientAddressKey(req, config.trustProxy);
    if (!socketSlots.take(address)) {
      log.debug('refused a sync socket: its address holds too many');
      return refuseUpgrade(
        stream,
        429,
        'Too many Mend connections are open from this network. Please close a few tabs and try again.',
      );
    }
    // Until connect hands the socket to the transport: `once`, so the slot goes back once.
    const slot = { address, releaseOnClose: (): void => socketSlots.give(address) };
    stream.once('close', slot.releaseOnClose);
    const rawSpaceId = syncPathSpaceId(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (rawSpaceId === null) return refuseUpgrade(stream, 404, 'There is nothing here.');
    const auth = await authorizeSync(req, rawSpaceId, storage, acceptedOrigins(config), {
      isUpgrade: true,
    });
    if (!auth.ok) {
      const reasons = { 401: 'unauthorized', 403: 'forbidden' } as const;
      metrics.reject(reasons[auth.status]);
      return refuseUpgrade(stream, auth.status, auth.error);
    }
    const { member } = auth;
    if (member.sealed && !asksForSealedSocket(req)) {
      // A plaintext client of a space sealed since (its cookie now names a device): the close
      // code tells it to move over, which a refused upgrade could not (a page sees only 1006).
      metrics.reject('sealed-now');
      return transport.acceptAndClose(req, stream, head, CloseCode.sealedNow);
    }
    if (!member.sealed && asksForSealedSocket(req)) {
      metrics.reject('sealed-mismatch');
      return refuseUpgrade(stream, 409, NOT_SEALED);
    }
    if (member.sealed) {
      // When each device was last seen (its space's device list): one write per connection.
      await storage.devices
        .markSeen(auth.spaceId, member.device.signingKey, now())
        .catch((error: unknown) => {
          log.warn({ err: error, spaceId: auth.spaceId }, 'could not record a device as seen');
        });
      return connect(req, stream, head, slot, sealedRooms, auth.spaceId, member, async (room) =>
        room.hostFor(member.device),
      );
    }
    return connect(req, stream, head, slot, rooms, auth.spaceId, member, async (room) => {
      await spaces.prepare(room, member.partner);
      return room;
    });
  }

  /**
   * Loads the space's room from `registry` and hands the upgraded socket to it. Once handed
   * over, the transport says when the socket is gone, and the address's slot (until then given
   * back on the stream's `close`) goes back with the room, both in one RoomLease: an open socket
   * has no listener or closure of its own for them (memory per connected socket).
   */
  async function connect<R extends ManagedRoom>(
    req: IncomingMessage,
    stream: Duplex,
    head: Buffer,
    slot: { readonly address: AddressKey; readonly releaseOnClose: () => void },
    registry: Rooms<R>,
    spaceId: SpaceId,
    member: SyncMember,
    host: (room: R) => Promise<SocketHost>,
  ): Promise<void> {
    let room: R;
    try {
      room = await registry.acquire(spaceId);
    } catch (error) {
      log.error({ err: error, spaceId }, 'could not load a space');
      return refuseUpgrade(
        stream,
        503,
        'This space could not be opened right now. Please try again.',
      );
    }
    const socketHost = await host(room);
    if (stream.destroyed || !ready) {
      registry.release(room);
      if (!stream.destroyed) refuseUpgrade(stream, 503, RESTARTING);
      return;
    }
    // Not destroyed, so its `close` has not run: the slot is still held, and is given back
    // below, once, with the room.
    stream.off('close', slot.releaseOnClose);
    const lease = new RoomLease(registry, room, socketSlots, slot.address);
    try {
      transport.accept(req, stream, head, socketHost, lease, memberKey(spaceId, member));
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  http.on('upgrade', (req: IncomingMessage, stream: Duplex, head: Buffer) => {
    upgrade(req, stream, head).catch((error: unknown) => {
      log.error({ err: error }, 'upgrade failed');
      if (!stream.destroyed) refuseUpgrade(stream, 500, 'Something went wrong on our side.');
    });
  });
  http.on('clientError', (error: Error & { code?: string }, socket) => {
    const status =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });

  async function stop(): Promise<void> {
    ready = false;
    log.info('shutting down');
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    metricsHttp?.close();
    metricsHttp?.closeAllConnections();
    const socketsClosed = transport.closeAll(CloseCode.goingAway);
    const writes = (async () => {
      await Promise.all([
        rooms.closeAll(CloseCode.goingAway),
        sealedRooms.closeAll(CloseCode.goingAway),
      ]);
      await docStore.idle();
      stopRecoveryListener();
      await pubsub.close();
      await storage.close();
    })();
    const work = Promise.all([writes, socketsClosed]);
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), config.limits.shutdownTimeoutMs).unref(),
    );
    const finished = work.then(
      () => 'done' as const,
      (error: unknown) => {
        log.error({ err: error }, 'error while finishing pending work');
        return 'failed' as const;
      },
    );
    const outcome = await Promise.race([finished, timeout]);
    if (outcome === 'timeout')
      log.error('shutdown timed out; forcing the remaining sockets closed');
    transport.terminateAll();
    http.closeAllConnections();
    await Promise.race([closed, timeout]);
    log.info('stopped');
    if (outcome === 'failed') throw new Error('pending work could not be finished');
  }

  return {
    async start() {
      await storage.migrate();
      const port = await listen(http, config.port, config.host);
      // Loopback only: whoever may read metrics reaches them from the machine (or a sidecar).
      const metricsPort =
        metricsHttp === null
          ? null
          : await listen(metricsHttp, config.metricsPort ?? 0, '127.0.0.1');
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      const url = `http://${host}:${port}`;
      ready = true;
      log.info(
        { port, url, metricsPort, storage: config.databaseUrl ? 'postgres' : 'sqlite' },
        'listening',
      );
      return { port, url, metricsPort };
    },
    stop() {
      stopping ??= stop();
      return stopping;
    },
  };
}

/** Listens on `port` (0 picks a free one) and resolves with the port bound. */
function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * A socket's error ends it. Shared by every socket: a closure made in `upgrade` would hold that
 * function's whole scope (the device's record among it) for as long as the socket lives.
 */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** Answers an upgrade with a plain HTTP error, before any WebSocket byte. */
function refuseUpgrade(stream: Duplex, status: number, error: string): void {
  const body = JSON.stringify({ error } satisfies ErrorResponse);
  stream.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** An open socket's room (held in its registry) and its address's slot, given back once. */
class RoomLease<R extends ManagedRoom> implements SocketLease {
  readonly #registry: Rooms<R>;
  readonly #room: R;
  readonly #slots: AddressSlots;
  readonly #address: AddressKey;
  #released = false;

  constructor(registry: Rooms<R>, room: R, slots: AddressSlots, address: AddressKey) {
    this.#registry = registry;
    this.#room = room;
    this.#slots = slots;
    this.#address = address;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#registry.release(this.#room);
    this.#slots.give(this.#address);
  }
}
