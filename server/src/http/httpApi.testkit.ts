import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
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

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
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
