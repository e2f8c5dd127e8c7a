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
  /**
   * The origin people reach Mend at (e.g. https://mend.example), or null. When it is https,
   * cookies are marked Secure and responses carry HSTS even behind a TLS-terminating proxy; the
   * Origin check accepts it.
   */
  publicOrigin: string | null;
  /** Behind a reverse proxy: the client address is the last X-Forwarded-For entry. */
  trustProxy: boolean;
  /** Port of the separate /metrics listener on 127.0.0.1, or null: /metrics is not served. */
  metricsPort: number | null;
  /** Largest stored document of one space (snapshot + updates); past it updates are refused. */
  maxSpaceBytes: number;
  /** What loaded rooms may hold in memory together; least recently used idle rooms sleep first. */
  maxLiveBytes: number;
  /** Spaces one client address (IPv6: its /64) may create per day; 0 turns the cap off. */
  maxSpacesPerDay: number;
  /** The web app's static build (adapter-static output). */
  webDir: string;
  logLevel: LogLevel;
  limits: Limits;
}

/**
 * Tuning knobs with safe defaults. Operators rarely need them; tests lower them through
 * MEND_LIMITS (a JSON object of overrides, e.g. `{"headersTimeoutMs":1000}`).
 */
export interface Limits {
  /** Sockets a space may hold at once (tabs, devices, overlapping reconnects). */
  socketsPerSpace: number;
  /** Messages a socket may send per second on average... */
  messagesPerSecond: number;
  /** ...and in one burst. */
  messageBurst: number;
  /** Bytes a socket may send per second on average... */
  bytesPerSecond: number;
  /** ...and in one burst (at least one largest message, so a device back from offline fits). */
  byteBurst: number;
  /** Awareness entries one message may carry. */
  awarenessEntriesPerMessage: number;
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
  /**
   * Each space's thresholds are drawn between (1 - jitter) and 1 times the above, so spaces
   * that grew together do not all compact at once.
   */
  compactJitter: number;
  /** Compactions this process runs at the same time; the rest wait their turn. */
  compactConcurrency: number;
  /** Largest create/join request body. */
  maxRequestBodyBytes: number;
  /** Time a client has to send a request's headers (node's headersTimeout). */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request (node's requestTimeout). */
  requestTimeoutMs: number;
  /** Time a client has to send a JSON body once its headers arrived. */
  bodyTimeoutMs: number;
  /**
   * The same for the body of a seal (POST /sync/:spaceId/seal), which carries the whole document
   * (about 3.5 MB of base64url for a five-year space). requestTimeoutMs still bounds the request.
   */
  sealBodyTimeoutMs: number;
  /** Open TCP connections (HTTP and WebSocket) the process accepts at once. */
  maxConnections: number;
  /** Open sync sockets one client address (IPv6: its /64) may hold at once. */
  socketsPerAddress: number;
  /** Sockets are pinged this often; one that did not answer the previous ping is ended. */
  heartbeatMs: number;
  /** How long graceful shutdown may take before giving up on pending work. */
  shutdownTimeoutMs: number;
}

export const defaultLimits: Limits = {
  socketsPerSpace: 32,
  messagesPerSecond: 100,
  messageBurst: 400,
  bytesPerSecond: 1024 * 1024,
  byteBurst: 32 * 1024 * 1024,
  awarenessEntriesPerMessage: 16,
  awarenessStateBytes: 8 * 1024,
  awarenessClientsPerSocket: 8,
  roomGraceMs: 5_000,
  roomSleepAfterMs: 30_000,
  compactAfterUpdates: 500,
  compactAfterBytes: 4 * 1024 * 1024,
  compactJitter: 0.3,
  compactConcurrency: 2,
  maxRequestBodyBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  bodyTimeoutMs: 10_000,
  sealBodyTimeoutMs: 30_000,
  maxConnections: 20_000,
  socketsPerAddress: 64,
  heartbeatMs: 30_000,
  shutdownTimeoutMs: 9_000,
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A start-up problem an operator can fix; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const wholeNumber = (name: string, min: number, max: number) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d+$/, `${name} must be a whole number`),
    v.transform(Number),
    v.number(),
    v.minValue(min, `${name} must be at least ${min}`),
    v.maxValue(max, `${name} must be at most ${max}`),
  );

const integer = (name: string, min: number, max: number, fallback: number) =>
  v.optional(wholeNumber(name, min, max), String(fallback));

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
  MEND_PUBLIC_ORIGIN: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.check(isOrigin, 'MEND_PUBLIC_ORIGIN must be an origin like https://mend.example'),
      v.transform((s) => new URL(s).origin),
    ),
  ),
  MEND_TRUST_PROXY: v.optional(
    v.picklist(['0', '1', 'false', 'true'], 'MEND_TRUST_PROXY must be true or false'),
    'false',
  ),
  MEND_METRICS_PORT: v.optional(wholeNumber('MEND_METRICS_PORT', 0, 65535)),
  MEND_MAX_SPACE_BYTES: integer(
    'MEND_MAX_SPACE_BYTES',
    64 * 1024,
    64 * 1024 * 1024 * 1024,
    256 * 1024 * 1024,
  ),
  MEND_MAX_LIVE_BYTES: integer(
    'MEND_MAX_LIVE_BYTES',
    1024 * 1024,
    1024 * 1024 * 1024 * 1024,
    512 * 1024 * 1024,
  ),
  MEND_MAX_SPACES_PER_DAY: integer('MEND_MAX_SPACES_PER_DAY', 0, 1_000_000, 20),
  MEND_LIMITS: v.optional(
    v.pipe(
      v.string(),
      v.parseJson(undefined, 'MEND_LIMITS must be a JSON object like {"headersTimeoutMs":1000}'),
      v.record(
        v.picklist(
          Object.keys(defaultLimits) as (keyof Limits)[],
          'MEND_LIMITS names a limit that does not exist',
        ),
        v.pipe(
          v.number('MEND_LIMITS values must be numbers'),
          v.minValue(0, 'MEND_LIMITS values must not be negative'),
        ),
      ),
    ),
  ),
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
    publicOrigin: e.MEND_PUBLIC_ORIGIN ?? null,
    trustProxy: e.MEND_TRUST_PROXY === '1' || e.MEND_TRUST_PROXY === 'true',
    metricsPort: e.MEND_METRICS_PORT ?? null,
    maxSpaceBytes: e.MEND_MAX_SPACE_BYTES,
    maxLiveBytes: e.MEND_MAX_LIVE_BYTES,
    maxSpacesPerDay: e.MEND_MAX_SPACES_PER_DAY,
    webDir: path.resolve(cwd, e.MEND_WEB_DIR ?? defaultWebDir),
    logLevel: e.MEND_LOG_LEVEL,
    limits: { ...defaultLimits, ...e.MEND_LIMITS },
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
