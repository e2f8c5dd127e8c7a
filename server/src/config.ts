import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v from 'valibot';

/** Where the web app's build lives in this repository, unless MEND_WEB_DIR says otherwise. */
export const defaultWebDir = fileURLToPath(new URL('../../apps/web/build', import.meta.url));

/** Everything the server needs to know, read once from the environment by `parseConfig`. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  maxMessageBytes: number;
  rateLimitPerMinute: number;
  /** Origins besides the server's own that may open cookie-authenticated sockets. */
  allowedOrigins: string[];
  /** The web app's static build (adapter-static output). */
  webDir: string;
  logLevel: LogLevel;
  limits: Limits;
}

/** Tuning knobs with safe defaults; not in the environment, but tests may lower them. */
export interface Limits {
  /** Sockets a space may hold at once (tabs, devices, overlapping reconnects). */
  socketsPerSpace: number;
  /** Messages a socket may send per second on average... */
  messagesPerSecond: number;
  /** ...and in one burst. */
  messageBurst: number;
  /** Largest awareness state (JSON) one client may publish. */
  awarenessStateBytes: number;
  /** Awareness client ids one socket may speak for. */
  awarenessClientsPerSocket: number;
  /** How long a room with no sockets stays in memory before it unloads. */
  roomGraceMs: number;
  /** A room with no update for this long drops its live Y.Doc and keeps only encoded bytes. */
  roomSleepAfterMs: number;
  /** A space's log is compacted into one snapshot past this many updates... */
  compactAfterUpdates: number;
  /** ...or past this many bytes of updates. */
  compactAfterBytes: number;
  /** Largest create/join request body. */
  maxRequestBodyBytes: number;
  /** Sockets are pinged this often; one that did not answer the previous ping is ended. */
  heartbeatMs: number;
  /** How long graceful shutdown may take before giving up on pending work. */
  shutdownTimeoutMs: number;
}

export const defaultLimits: Limits = {
  socketsPerSpace: 32,
  messagesPerSecond: 100,
  messageBurst: 400,
  awarenessStateBytes: 8 * 1024,
  awarenessClientsPerSocket: 8,
  roomGraceMs: 5_000,
  roomSleepAfterMs: 30_000,
  compactAfterUpdates: 500,
  compactAfterBytes: 4 * 1024 * 1024,
  maxRequestBodyBytes: 16 * 1024,
  heartbeatMs: 30_000,
  shutdownTimeoutMs: 9_000,
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A start-up problem an operator can fix; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const integer = (name: string, min: number, max: number, fallback: number) =>
  v.pipe(
    v.optional(v.string(), String(fallback)),
    v.trim(),
    v.regex(/^\d+$/, `${name} must be a whole number`),
    v.transform(Number),
    v.number(),
    v.minValue(min, `${name} must be at least ${min}`),
    v.maxValue(max, `${name} must be at most ${max}`),
  );

const url = (name: string, protocols: string[]) =>
  v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.check(
        (value) => {
          try {
            return protocols.includes(new URL(value).protocol);
          } catch {
            return false;
          }
        },
        `${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
      ),
    ),
  );

const origins = v.pipe(
  v.optional(v.string(), ''),
  v.transform((value) =>
    value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  ),
  v.array(
    v.pipe(
      v.string(),
      v.check(
        isOrigin,
        'MEND_ALLOWED_ORIGINS must be a comma-separated list of origins like https://example.org',
      ),
      v.transform((s) => new URL(s).origin),
    ),
  ),
);

const EnvSchema = v.object({
  PORT: integer('PORT', 0, 65535, 8787),
  HOST: v.pipe(v.optional(v.string(), '127.0.0.1'), v.trim(), v.nonEmpty('HOST must not be empty')),
  MEND_DATA_DIR: v.pipe(
    v.optional(v.string(), './data'),
    v.trim(),
    v.nonEmpty('MEND_DATA_DIR must not be empty'),
  ),
  DATABASE_URL: url('DATABASE_URL', ['postgres:', 'postgresql:']),
  REDIS_URL: url('REDIS_URL', ['redis:', 'rediss:']),
  MEND_MAX_MESSAGE_BYTES: integer('MEND_MAX_MESSAGE_BYTES', 1024, 1024 * 1024 * 1024, 16777216),
  MEND_RATE_LIMIT_PER_MINUTE: integer('MEND_RATE_LIMIT_PER_MINUTE', 0, 1_000_000, 60),
  MEND_ALLOWED_ORIGINS: origins,
  MEND_WEB_DIR: v.optional(v.pipe(v.string(), v.trim(), v.nonEmpty())),
  MEND_LOG_LEVEL: v.optional(
    v.picklist(LOG_LEVELS, `MEND_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`),
    'info',
  ),
});

/**
 * Reads and validates the environment. Empty variables count as unset. Throws a ConfigError
 * naming the first bad variable.
 *
 * @param defaultWebDir where the web app's build lives when MEND_WEB_DIR is not set
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  defaultWebDir: string,
  cwd: string = process.cwd(),
): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const result = v.safeParse(EnvSchema, present);
  if (!result.success) {
    const issue = result.issues[0];
    const key = issue ? (v.getDotPath(issue)?.split('.')[0] ?? null) : null;
    const message = issue?.message ?? 'invalid configuration';
    throw new ConfigError(key && !message.startsWith(key) ? `${key}: ${message}` : message);
  }
  const e = result.output;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(cwd, e.MEND_DATA_DIR),
    databaseUrl: e.DATABASE_URL ?? null,
    redisUrl: e.REDIS_URL ?? null,
    maxMessageBytes: e.MEND_MAX_MESSAGE_BYTES,
    rateLimitPerMinute: e.MEND_RATE_LIMIT_PER_MINUTE,
    allowedOrigins: e.MEND_ALLOWED_ORIGINS,
    webDir: path.resolve(cwd, e.MEND_WEB_DIR ?? defaultWebDir),
    logLevel: e.MEND_LOG_LEVEL,
    limits: defaultLimits,
  };
}

function isOrigin(value: string): boolean {
  try {
    const parsed = new URL(value);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.host !== '';
  } catch {
    return false;
  }
}
