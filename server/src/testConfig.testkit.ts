import { defaultLimits, type Config } from './config.js';

/** A Config for in-process servers in tests: port 0, no rate limit, silent logs. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    dataDir: '/nonexistent',
    databaseUrl: null,
    redisUrl: null,
    maxMessageBytes: 1 << 20,
    rateLimitPerMinute: 0,
    allowedOrigins: [],
    publicOrigin: null,
    trustProxy: false,
    metricsPort: null,
    maxSpaceBytes: 256 * 1024 * 1024,
    maxLiveBytes: 512 * 1024 * 1024,
    maxSpacesPerDay: 0,
    webDir: '/nonexistent',
    logLevel: 'silent',
    limits: defaultLimits,
    ...overrides,
  };
}
