import { randomBytes } from 'node:crypto';
import { SEALED_SUBPROTOCOL } from '@mend/protocol';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, expect } from 'vitest';
import type { Config } from '../config.js';
import { createMendServer, type MendServer, type MendServerOptions } from '../MendServer.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import { testConfig } from '../testConfig.testkit.js';

/** An in-process server on port 0 and the memory storage under it, for asserting on. */
export interface RunningServer {
  server: MendServer;
  url: string;
  /** The metrics listener's port, when the config set `metricsPort`. */
  metricsPort: number | null;
  storage: MemoryAdapter;
}

export interface StartOptions extends Omit<MendServerOptions, 'storage'> {
  storage?: MemoryAdapter;
}

/**
 * Servers for one test file: `start` as many as the file needs (silent logs, memory storage unless
 * given); all of them stop after the file.
 */
export function httpTestServers(): {
  start(overrides?: Partial<Config>, options?: StartOptions): Promise<RunningServer>;
} {
  const running: RunningServer[] = [];
  afterAll(async () => {
    for (const run of running) await run.server.stop();
  });
  return {
    async start(overrides = {}, options = {}) {
      const { storage = new MemoryAdapter(), log = pino({ level: 'silent' }), ...rest } = options;
      const server = await createMendServer(testConfig(overrides), { ...rest, storage, log });
      const { url, metricsPort } = await server.start();
      const run = { server, url, metricsPort, storage };
      running.push(run);
      return run;
    },
  };
}

export const b64 = (bytes: Uint8Array | Buffer): string => Buffer.from(bytes).toString('base64url');

/** A device's public keys, as a sealed client sends them. */
export function deviceKeys() {
  return { signingKey: b64(randomBytes(32)), agreementKey: b64(randomBytes(32)) };
}

/** What creating or joining a space answers. */
export interface Seat {
  spaceId: string;
  partnerId: string;
  token: string;
}

/** A seat's device with its public keys. */
export interface Device extends Seat {
  signingKey: string;
  agreementKey: string;
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** POSTs `body` as JSON to the server at `base`, with `as`'s token when given; any answer. */
export function post(base: string, pathname: string, body: unknown, as?: Seat): Promise<Response> {
  return fetch(base + pathname, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(as ? bearer(as.token) : {}) },
    body: JSON.stringify(body),
  });
}

/** A second device of `seat`'s partner on the server at `base`, linked with the link routes and collected. */
export async function linkedDevice(base: string, seat: Device): Promise<Device> {
  const links = `/api/sealed-spaces/${seat.spaceId}/links`;
  const linkCode = b64(randomBytes(16));
  const offered = await post(base, links, { linkCode }, seat);
  expect(offered.status).toBeLessThan(300);
  const { linkId } = (await offered.json()) as { linkId: string };
  const claim = { linkCode, claimCode: b64(randomBytes(16)), ...deviceKeys() };
  expect((await post(base, `${links}/claim`, claim)).status).toBe(202);
  const confirm = { box: b64(randomBytes(120)), linkSeq: 1 };
  expect((await post(base, `${links}/${linkId}/confirm`, confirm, seat)).status).toBe(204);
  const collected = (await (await post(base, `${links}/claim`, claim)).json()) as Seat;
  return { ...collected, spaceId: seat.spaceId, ...claim };
}

/**
 * Opens a sync socket (sealed unless other `protocols` are given) on the server at `base` and
 * resolves once it is open, with a promise of its close code.
 */
export function openSocket(
  base: string,
  seat: Seat,
  protocols: string[] = [SEALED_SUBPROTOCOL],
): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/sync/${seat.spaceId}`, protocols, {
    headers: bearer(seat.token),
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

export function withinASecond<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('not within a second')), 1_000);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The status and the `error` text of a refused request. */
export async function statusAndError(response: Response): Promise<[number, string]> {
  return [response.status, ((await response.json()) as { error: string }).error];
}

/** POSTs `body` as JSON to the server at `base` and returns the answer of a request that worked. */
export async function postJson<T>(pathname: string, body: unknown, base: string): Promise<T> {
  const response = await fetch(base + pathname, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBeLessThan(300);
  return (await response.json()) as T;
}

async function postCreated<T>(pathname: string, body: unknown, base: string): Promise<T> {
  const response = await fetch(base + pathname, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as T;
}

/**
 * A sealed space on the server at `base` with Alex, who created it, and Sam, who joined it: each a
 * seat of one device, with that device's public keys.
 */
export async function sealedPair(base: string) {
  const alexKeys = deviceKeys();
  const inviteCode = b64(randomBytes(16));
  const alex = {
    ...(await postCreated<Seat>(
      '/api/sealed-spaces',
      { ...alexKeys, inviteCode, welcome: b64(randomBytes(120)) },
      base,
    )),
    ...alexKeys,
  };
  const samKeys = deviceKeys();
  const sam = {
    ...(await postCreated<Seat>(
      `/api/sealed-spaces/${alex.spaceId}/join`,
      { inviteCode, ...samKeys },
      base,
    )),
    ...samKeys,
  };
  return { alex, sam, samKeys };
}
