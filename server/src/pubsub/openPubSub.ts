import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { MemoryPubSub } from './MemoryPubSub.js';
import type { PubSub } from './PubSub.js';
import { RedisPubSub } from './RedisPubSub.js';

/** How long start-up waits for Redis before serving anyway (it keeps reconnecting). */
const REDIS_START_WAIT_MS = 5_000;

/** Redis with REDIS_URL (several server processes), else in-process (a single process). */
export async function openPubSub(config: Config, log: Logger): Promise<PubSub> {
  if (config.redisUrl === null) return new MemoryPubSub();
  const redis = new RedisPubSub({ url: config.redisUrl, log });
  const ready = await Promise.race([
    redis.connected().then(() => true),
    sleep(REDIS_START_WAIT_MS, false, { ref: false }),
  ]);
  if (!ready) log.warn('Redis is not reachable yet; serving this node’s sockets meanwhile');
  return redis;
}
