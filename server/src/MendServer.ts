import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { SCHEMA_VERSION, migrate } from '@mend/model';
import { CloseCode, type ErrorResponse, type PartnerId, type SpaceId } from '@mend/protocol';
import type { Config } from './config.js';
import { HttpApi } from './http/HttpApi.js';
import { StaticSite } from './http/StaticSite.js';
import { authorizeSync, syncPathSpaceId } from './http/syncAuth.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { writeMissingPartner } from './spaceContent.js';
import { openPubSub } from './pubsub/openPubSub.js';
import type { PubSub } from './pubsub/PubSub.js';
import { SpaceBus } from './pubsub/SpaceBus.js';
import { DocStore } from './storage/DocStore.js';
import { openStorage } from './storage/openStorage.js';
import type { PartnerRecord, StorageAdapter } from './storage/StorageAdapter.js';
import type { Room } from './sync/Room.js';
import { Rooms } from './sync/Rooms.js';
import { WsTransport } from './sync/WsTransport.js';

/** Why an upgrade is refused while the server starts or stops. */
const RESTARTING = 'Mend is restarting. Please try again in a moment.';

export interface MendServerOptions {
  /** Defaults to a pino logger at `config.logLevel`. */
  log?: Logger;
  /** Defaults to the adapter `config` selects (SQLite, or PostgreSQL with DATABASE_URL). */
  storage?: StorageAdapter;
  /** Defaults to the pub/sub `config` selects (in-process, or Redis with REDIS_URL). */
  pubsub?: PubSub;
}

export interface MendServer {
  /** Opens storage, migrates, and listens. Resolves with the bound port and URL. */
  start(): Promise<{ port: number; url: string }>;
  /**
   * Graceful shutdown: stop accepting, close sockets with 1001, finish pending writes, close
   * storage. Resolves when done (or after the shutdown timeout, having forced what was left).
   */
  stop(): Promise<void>;
  readonly metrics: Metrics;
  /** Loaded rooms (for tests and diagnostics). */
  readonly rooms: Rooms;
  readonly storage: StorageAdapter;
  readonly docStore: DocStore;
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
  const docStore = new DocStore(storage, config.limits, metrics, log);
  const rooms = new Rooms(
    {
      docStore,
      bus,
      metrics,
      log,
      limits: config.limits,
      spaceExists: async (spaceId: SpaceId) => (await storage.getSpace(spaceId)) !== null,
    },
    config.limits.roomGraceMs,
    config.limits.roomSleepAfterMs,
    config.maxLiveBytes,
  );
  const site = new StaticSite(config.webDir);
  const transport = new WsTransport({
    maxMessageBytes: config.maxMessageBytes,
    metrics,
    log,
    heartbeatMs: config.limits.heartbeatMs,
  });
  let ready = false;
  let stopping: Promise<void> | null = null;
  const api = new HttpApi({ config, storage, rooms, site, metrics, log, isReady: () => ready });
  const http: Server = createServer((req, res) => void api.handle(req, res));
  const stopRecoveryListener = bus.onRecovered(() => {
    log.warn('pub/sub reconnected; resyncing loaded rooms from storage');
    rooms.resyncAll();
  });

  // Partners whose document was already brought up to date in a loaded room; forgotten with it.
  const checkedPartners = new WeakMap<Room, Set<PartnerId>>();

  /**
   * Before a partner's first socket in a loaded room is served: migrates a document written by an
   * earlier schema (here, where the document is authoritative, so two devices never migrate it at
   * once), and heals a join whose document write failed (see writeMissingPartner). A check that
   * passed is recorded in storage for the partner and schema version, so later loads (after a
   * restart, or once the room was unloaded) serve the stored bytes without rebuilding the
   * document. Never blocks the socket: a failure is logged and the document served as stored.
   */
  async function prepareDoc(room: Room, partner: PartnerRecord): Promise<void> {
    let checked = checkedPartners.get(room);
    if (!checked) checkedPartners.set(room, (checked = new Set()));
    if (checked.has(partner.partnerId)) return;
    try {
      const recorded = await storage.getDocCheck(room.spaceId, partner.partnerId);
      if (recorded !== SCHEMA_VERSION) {
        let migrated = false;
        let healed = false;
        await room.change((doc) => {
          migrated = migrate(doc).migrated;
          healed = writeMissingPartner(doc, partner);
        });
        if (migrated)
          log.info({ spaceId: room.spaceId }, 'migrated a document to the current schema');
        if (healed)
          log.warn({ spaceId: room.spaceId }, 'wrote a partner missing from the document');
        await storage.recordDocCheck(room.spaceId, partner.partnerId, SCHEMA_VERSION);
      }
      checked.add(partner.partnerId);
    } catch (error) {
      log.error({ err: error, spaceId: room.spaceId }, 'could not prepare the document of a space');
    }
  }

  async function upgrade(req: IncomingMessage, stream: Duplex, head: Buffer): Promise<void> {
    stream.on('error', () => stream.destroy());
    if (!ready) return refuseUpgrade(stream, 503, RESTARTING);
    const rawSpaceId = syncPathSpaceId(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (rawSpaceId === null) return refuseUpgrade(stream, 404, 'There is nothing here.');
    const auth = await authorizeSync(req, rawSpaceId, storage, config.allowedOrigins, {
      isUpgrade: true,
    });
    if (!auth.ok) {
      const reasons = { 401: 'unauthorized', 403: 'forbidden' } as const;
      metrics.reject(reasons[auth.status]);
      return refuseUpgrade(stream, auth.status, auth.error);
    }
    let room;
    try {
      room = await rooms.acquire(auth.spaceId);
    } catch (error) {
      log.error({ err: error, spaceId: auth.spaceId }, 'could not load a space');
      return refuseUpgrade(
        stream,
        503,
        'This space could not be opened right now. Please try again.',
      );
    }
    await prepareDoc(room, auth.partner);
    if (stream.destroyed || !ready) {
      rooms.release(room);
      if (!stream.destroyed) refuseUpgrade(stream, 503, RESTARTING);
      return;
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      rooms.release(room);
    };
    try {
      transport.accept(req, stream, head, room, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  http.on('upgrade', (req: IncomingMessage, stream: Duplex, head: Buffer) => {
    upgrade(req, stream, head).catch((error: unknown) => {
      log.error({ err: error }, 'upgrade failed');
      if (!stream.destroyed) refuseUpgrade(stream, 500, 'Something went wrong on our side.');
    });
  });
  http.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  async function stop(): Promise<void> {
    ready = false;
    log.info('shutting down');
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    const socketsClosed = transport.closeAll(CloseCode.goingAway);
    const writes = (async () => {
      await rooms.closeAll(CloseCode.goingAway);
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
    metrics,
    rooms,
    storage,
    docStore,
    async start() {
      await storage.migrate();
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => {
          http.off('error', reject);
          resolve();
        });
      });
      const port = (http.address() as AddressInfo).port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      const url = `http://${host}:${port}`;
      ready = true;
      log.info({ port, url, storage: config.databaseUrl ? 'postgres' : 'sqlite' }, 'listening');
      return { port, url };
    },
    stop() {
      stopping ??= stop();
      return stopping;
    },
  };
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
