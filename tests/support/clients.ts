/**
 * Sync clients for tests: the stock y-websocket provider (what the web app uses), raw `ws`
 * sockets for speaking the wire protocol by hand, and bare upgrade requests for auth refusals.
 * Every wait here waits on an event and is bounded by a timeout that fails with a clear message.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import type * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { withTimeout, type MendServer } from './server.js';

type ServerAddress = Pick<MendServer, 'wsUrl' | 'url'>;

export const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const;

/** What the provider accepts as its WebSocket class (the DOM constructor's shape). */
type WebSocketClass = NonNullable<
  NonNullable<ConstructorParameters<typeof WebsocketProvider>[3]>['WebSocketPolyfill']
>;

/** A `ws` WebSocket that sends fixed extra headers (e.g. `Authorization: Bearer …`) on upgrade. */
export function webSocketWithHeaders(headers: Readonly<Record<string, string>>): WebSocketClass {
  class HeaderWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers: { ...headers } });
    }
  }
  // `ws` implements the browser WebSocket's API; only the TypeScript declarations differ.
  return HeaderWebSocket as unknown as WebSocketClass;
}

export interface ProviderOptions {
  /** Start connected (default) or call `provider.connect()` later. */
  readonly connect?: boolean;
  readonly doc?: Y.Doc;
  /** Headers sent on every (re)connection; defaults to the Bearer token. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * A stock y-websocket provider on `/sync/<spaceId>` authenticated with `token`. BroadcastChannel
 * is off: in one Node process every provider would otherwise sync with the others behind the
 * server's back.
 */
export function openProvider(
  server: ServerAddress,
  spaceId: string,
  token: string,
  options: ProviderOptions = {},
): { provider: WebsocketProvider; doc: Y.Doc } {
  const doc = options.doc ?? new Y.Doc();
  const provider = new WebsocketProvider(`${server.wsUrl}/sync`, spaceId, doc, {
    connect: options.connect ?? true,
    disableBc: true,
    maxBackoffTime: 250,
    WebSocketPolyfill: webSocketWithHeaders(
      options.headers ?? { Authorization: `Bearer ${token}` },
    ),
  });
  return { provider, doc };
}

/**
 * Keeps the providers a test opens, for destroying them together after it:
 * `const providers = trackProviders();` at the top of a file, `providers.track(openProvider(…))`
 * in a test, and `providers.destroyAll()` in `afterEach` (before the server goes).
 */
export function trackProviders(): {
  track<T extends { provider: WebsocketProvider }>(client: T): T;
  destroyAll(): void;
} {
  const providers: WebsocketProvider[] = [];
  return {
    track(client) {
      providers.push(client.provider);
      return client;
    },
    destroyAll() {
      for (const provider of providers.splice(0)) provider.destroy();
    },
  };
}

/** Resolves with the code of the next close of the provider's socket (-1 when it has none). */
export function nextClose(provider: WebsocketProvider, what: string): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve) => {
      const onClose = (event: CloseEvent | null) => {
        provider.off('connection-close', onClose);
        resolve(event?.code ?? -1);
      };
      provider.on('connection-close', onClose);
    }),
    10_000,
    `timed out waiting for ${what}'s socket to close`,
  );
}

/** Resolves once the provider has received the server's sync step 2 on its current socket. */
export function waitForSynced(
  provider: WebsocketProvider,
  timeoutMs = 10_000,
  what = 'the provider to sync',
): Promise<void> {
  if (provider.synced) return Promise.resolve();
  let onSync: ((synced: boolean) => void) | undefined;
  return withTimeout(
    new Promise<void>((resolve) => {
      onSync = (synced) => {
        if (synced) resolve();
      };
      provider.on('sync', onSync);
    }),
    timeoutMs,
    `timed out waiting for ${what}`,
  ).finally(() => {
    if (onSync) provider.off('sync', onSync);
  });
}

/** Resolves once `predicate()` holds, checking now and after every update to any of `docs`. */
export function waitForDoc(
  docs: Y.Doc | readonly Y.Doc[],
  predicate: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  if (predicate()) return Promise.resolve();
  const watched = Array.isArray(docs) ? docs : [docs as Y.Doc];
  let onUpdate: (() => void) | undefined;
  return withTimeout(
    new Promise<void>((resolve) => {
      onUpdate = () => {
        if (predicate()) resolve();
      };
      for (const doc of watched) doc.on('update', onUpdate);
    }),
    timeoutMs,
    `timed out waiting for ${what}`,
  ).finally(() => {
    for (const doc of watched) if (onUpdate) doc.off('update', onUpdate);
  });
}

/** Resolves once `predicate()` holds, checking now and after every awareness change. */
export function waitForAwareness(
  awareness: awarenessProtocol.Awareness,
  predicate: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  if (predicate()) return Promise.resolve();
  let onChange: (() => void) | undefined;
  return withTimeout(
    new Promise<void>((resolve) => {
      onChange = () => {
        if (predicate()) resolve();
      };
      awareness.on('change', onChange);
    }),
    timeoutMs,
    `timed out waiting for ${what}`,
  ).finally(() => {
    if (onChange) awareness.off('change', onChange);
  });
}

/** Connects a fresh client, lets it sync, and returns the document it was given. */
export async function fetchDocument(
  server: ServerAddress,
  spaceId: string,
  token: string,
): Promise<Y.Doc> {
  const { provider, doc } = openProvider(server, spaceId, token);
  try {
    await waitForSynced(provider, 10_000, 'a fresh client to sync');
    return doc;
  } finally {
    provider.destroy();
  }
}

/** True when `doc` holds every insertion and deletion that `reference` holds. */
export function containsAll(doc: Y.Doc, reference: Y.Doc): boolean {
  const have = Y.decodeStateVector(Y.encodeStateVector(doc));
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(reference))) {
    if ((have.get(client) ?? 0) < clock) return false;
  }
  const deletedHere = Y.snapshot(doc).ds;
  const deletedThere = Y.snapshot(reference).ds;
  for (const [client, ranges] of deletedThere.clients) {
    for (const range of ranges) {
      for (let clock = range.clock; clock < range.clock + range.len; clock++) {
        if (!Y.isDeleted(deletedHere, { client, clock } as Y.ID)) return false;
      }
    }
  }
  return true;
}

/** Same insertions and deletions: the documents are the same document. */
export function sameDocument(a: Y.Doc, b: Y.Doc): boolean {
  return Y.equalSnapshots(Y.snapshot(a), Y.snapshot(b));
}

/* ---------------------------------------------------------------------------------------------
 * Raw sockets and upgrade requests
 * ------------------------------------------------------------------------------------------- */

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/** An upgrade the server answered with a plain HTTP response instead of 101. */
export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the upgrade was refused with HTTP ${status}: ${body}`);
  }
}

/** A `ws` socket that records everything it receives and how it closed. */
export class RawSocket {
  readonly messages: Uint8Array[] = [];
  readonly closed: Promise<CloseInfo>;
  private readonly waiters = new Set<() => void>();

  constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.messages.push(new Uint8Array(data));
      for (const wake of this.waiters) wake();
    });
    // Errors (e.g. writing after the server closed) surface through `closed`; without a listener
    // `ws` would throw them at the event loop.
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        resolve({ code, reason: reason.toString('utf8') });
        for (const wake of this.waiters) wake();
      });
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(data: Uint8Array | string, options: { fin?: boolean; binary?: boolean } = {}): void {
    this.ws.send(data, { binary: typeof data !== 'string', ...options });
  }

  /** Waits for a received message matching `predicate` (already received ones count). */
  async nextMessage(
    predicate: (message: Uint8Array) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<Uint8Array> {
    let wake: (() => void) | undefined;
    try {
      return await withTimeout(
        new Promise<Uint8Array>((resolve, reject) => {
          wake = () => {
            const found = this.messages.find(predicate);
            if (found) resolve(found);
            else if (this.ws.readyState === WebSocket.CLOSED) {
              reject(new Error(`the socket closed while waiting for ${what}`));
            }
          };
          this.waiters.add(wake);
          wake();
        }),
        timeoutMs,
        `timed out waiting for ${what}`,
      );
    } finally {
      if (wake) this.waiters.delete(wake);
    }
  }

  /** Resolves with the close code and reason the server sent. */
  waitForClose(timeoutMs = 10_000): Promise<CloseInfo> {
    return withTimeout(this.closed, timeoutMs, 'timed out waiting for the socket to close');
  }

  close(): void {
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close();
  }
}

export interface RawSocketOptions {
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as the upgrade's Origin header. */
  readonly origin?: string;
  /** Appended to the URL as-is (e.g. `?token=…`). */
  readonly query?: string;
  /** Largest frame the client accepts; raise it to receive big documents. */
  readonly maxPayload?: number;
  /** WebSocket subprotocols to offer (e.g. the sealed socket's `mend-sealed-1`). */
  readonly protocols?: readonly string[];
}

/** Opens a raw socket to `/sync/<spaceId>`; rejects with UpgradeRefused if the server says no. */
export function openRawSocket(
  server: ServerAddress,
  spaceId: string,
  options: RawSocketOptions = {},
  timeoutMs = 10_000,
): Promise<RawSocket> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  const ws = new WebSocket(
    `${server.wsUrl}/sync/${spaceId}${options.query ?? ''}`,
    [...(options.protocols ?? [])],
    {
      headers,
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }),
    },
  );
  // Created before the upgrade completes so no early message is missed.
  const socket = new RawSocket(ws);
  return withTimeout(
    new Promise<RawSocket>((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_request, response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          reject(new UpgradeRefused(response.statusCode ?? 0, Buffer.concat(chunks).toString()));
          ws.terminate();
        });
      });
      ws.once('error', (error) => reject(error));
    }),
    timeoutMs,
    'timed out opening a socket',
  ).catch((error: unknown) => {
    ws.terminate();
    throw error;
  });
}

/** What the server answered to a bare HTTP upgrade request. */
export interface UpgradeAnswer {
  readonly status: number;
  /** Everything the server sent after its status line and headers, until it closed. */
  readonly body: Buffer;
  readonly upgraded: boolean;
}

/**
 * Sends a WebSocket upgrade request by hand and reports the raw answer. For refusals this shows
 * exactly what went over the wire: the status, and that no frame followed.
 */
export function upgradeRequest(
  server: ServerAddress,
  path: string,
  headers: Readonly<Record<string, string>> = {},
  timeoutMs = 10_000,
): Promise<UpgradeAnswer> {
  const url = new URL(path, server.url);
  return withTimeout(
    new Promise<UpgradeAnswer>((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
          ...headers,
        },
      });
      req.on('upgrade', (response, socket, head) => {
        socket.destroy();
        resolve({ status: response.statusCode ?? 0, body: head, upgraded: true });
      });
      req.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks),
            upgraded: false,
          }),
        );
        response.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    timeoutMs,
    `timed out waiting for an answer to the upgrade of ${path}`,
  );
}

/* ---------------------------------------------------------------------------------------------
 * Wire messages (y-websocket protocol)
 * ------------------------------------------------------------------------------------------- */

export function syncStep1Message(doc: Y.Doc): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  syncProtocol.writeSyncStep1(encoder, doc);
  return encoding.toUint8Array(encoder);
}

export function updateMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  syncProtocol.writeUpdate(encoder, update);
  return encoding.toUint8Array(encoder);
}

export function awarenessMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.awareness);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** The kind of a received message: [message type, sync message type if it is a sync message]. */
export function messageKind(message: Uint8Array): readonly [number, number | undefined] {
  try {
    const decoder = decoding.createDecoder(message);
    const type = decoding.readVarUint(decoder);
    return [type, type === MessageType.sync ? decoding.readVarUint(decoder) : undefined];
  } catch {
    return [-1, undefined];
  }
}

export function isSyncStep2(message: Uint8Array): boolean {
  const [type, syncType] = messageKind(message);
  return type === MessageType.sync && syncType === syncProtocol.messageYjsSyncStep2;
}

/**
 * Speaks the protocol on a raw socket until the server has answered sync step 1, and returns the
 * document the server sent.
 */
export async function rawSync(socket: RawSocket, timeoutMs = 10_000): Promise<Y.Doc> {
  const doc = new Y.Doc();
  socket.send(syncStep1Message(doc));
  const step2 = await socket.nextMessage(
    isSyncStep2,
    'the server to answer sync step 1',
    timeoutMs,
  );
  const decoder = decoding.createDecoder(step2);
  decoding.readVarUint(decoder);
  decoding.readVarUint(decoder);
  Y.applyUpdate(doc, decoding.readVarUint8Array(decoder));
  return doc;
}
