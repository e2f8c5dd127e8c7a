import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultLimits, parseConfig } from './config.js';

const parse = (env: Record<string, string | undefined>) =>
  parseConfig(env, '/srv/web', '/srv/mend');

function errorFor(env: Record<string, string | undefined>): string {
  try {
    parse(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('uses the contract’s defaults when nothing is set', () => {
    const config = parse({});
    expect(config).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      dataDir: path.resolve('/srv/mend', 'data'),
      databaseUrl: null,
      redisUrl: null,
      maxMessageBytes: 16777216,
      rateLimitPerMinute: 60,
      allowedOrigins: [],
      webDir: '/srv/web',
      logLevel: 'info',
      publicOrigin: null,
      trustProxy: false,
      metricsPort: null,
      maxSpaceBytes: 256 * 1024 * 1024,
      maxLiveBytes: 512 * 1024 * 1024,
      maxSpacesPerDay: 20,
    });
  });

  it('treats empty variables as unset', () => {
    expect(parse({ PORT: '', DATABASE_URL: ' ' }).port).toBe(8787);
  });

  it('reads every variable', () => {
    const config = parse({
      PORT: '0',
      HOST: '0.0.0.0',
      MEND_DATA_DIR: '/var/lib/mend',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      REDIS_URL: 'redis://127.0.0.1:6379',
      MEND_MAX_MESSAGE_BYTES: '2048',
      MEND_RATE_LIMIT_PER_MINUTE: '0',
      MEND_ALLOWED_ORIGINS: 'https://mend.example, http://localhost:5173/',
      MEND_PUBLIC_ORIGIN: 'https://mend.example/',
      MEND_TRUST_PROXY: 'true',
      MEND_METRICS_PORT: '9464',
      MEND_MAX_SPACE_BYTES: '1048576',
      MEND_MAX_LIVE_BYTES: '67108864',
      MEND_MAX_SPACES_PER_DAY: '0',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '0.0.0.0',
      dataDir: '/var/lib/mend',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
      redisUrl: 'redis://127.0.0.1:6379',
      maxMessageBytes: 2048,
      rateLimitPerMinute: 0,
      allowedOrigins: ['https://mend.example', 'http://localhost:5173'],
      publicOrigin: 'https://mend.example',
      trustProxy: true,
      metricsPort: 9464,
      maxSpaceBytes: 1048576,
      maxLiveBytes: 67108864,
      maxSpacesPerDay: 0,
    });
  });

  it('lowers single limits from MEND_LIMITS and keeps the other defaults', () => {
    const { limits } = parse({ MEND_LIMITS: '{"headersTimeoutMs":500,"socketsPerAddress":2}' });
    expect(limits).toEqual({ ...defaultLimits, headersTimeoutMs: 500, socketsPerAddress: 2 });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ MEND_MAX_MESSAGE_BYTES: '1.5' }, 'MEND_MAX_MESSAGE_BYTES'],
    [{ MEND_RATE_LIMIT_PER_MINUTE: 'lots' }, 'MEND_RATE_LIMIT_PER_MINUTE'],
    [{ MEND_ALLOWED_ORIGINS: 'not an origin' }, 'MEND_ALLOWED_ORIGINS'],
    [{ MEND_LOG_LEVEL: 'loud' }, 'MEND_LOG_LEVEL'],
    [{ MEND_PUBLIC_ORIGIN: 'mend.example' }, 'MEND_PUBLIC_ORIGIN'],
    [{ MEND_TRUST_PROXY: 'maybe' }, 'MEND_TRUST_PROXY'],
    [{ MEND_METRICS_PORT: '99999' }, 'MEND_METRICS_PORT'],
    [{ MEND_MAX_SPACE_BYTES: '10' }, 'MEND_MAX_SPACE_BYTES'],
    [{ MEND_MAX_LIVE_BYTES: 'all' }, 'MEND_MAX_LIVE_BYTES'],
    [{ MEND_MAX_SPACES_PER_DAY: '-3' }, 'MEND_MAX_SPACES_PER_DAY'],
    [{ MEND_LIMITS: 'headersTimeoutMs=5' }, 'MEND_LIMITS'],
    [{ MEND_LIMITS: '{"headersTimeoutMs":"soon"}' }, 'MEND_LIMITS'],
    [{ MEND_LIMITS: '{"headerTimeout":5}' }, 'MEND_LIMITS'],
    [{ MEND_LIMITS: '{"maxConnections":-1}' }, 'MEND_LIMITS'],
  ])('a bad value (%o) stops start-up with a message naming %s', (env, name) => {
    expect(errorFor(env)).toContain(name);
  });
});
