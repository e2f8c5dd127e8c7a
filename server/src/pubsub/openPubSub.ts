import type { Config } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { MemoryPubSub } from './MemoryPubSub.js';
import type { PubSub } from './PubSub.js';
import { RedisPubSub } from './RedisPubSub.js';

/** How long start-up waits for Redis before serving without it (it joins in when reachable). */
const REDIS_START_WAIT_MS = 5_000;

/** Redis with REDIS_URL (several server processes), else in-process (a single process). */
export async function openPubSub(config: Config, log?: Logger): Promise<PubSub> {
  if (config.redisUrl !== null) {
    const pubsub = new RedisPubSub({
      url: config.redisUrl,
      log: log ?? createLogger(config.logLevel),
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      pubsub.connected(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, REDIS_START_WAIT_MS))),
    ]);
    clearTimeout(timer);
    return pubsub;
  }
  return new MemoryPubSub();
}
