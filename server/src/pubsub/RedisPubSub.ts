import { randomBytes } from 'node:crypto';
import type { SpaceId } from '@mend/protocol';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PubSub } from './PubSub.js';

export interface RedisPubSubOptions {
  /** `redis://…` (REDIS_URL). */
  url: string;
  /** Prepended to every channel name, so several deployments (or test runs) can share a Redis. */
  channelPrefix?: string;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Bytes that may wait to be published while Redis is away; `unsentLimit` unless given (tests). */
  unsentLimit?: number;
}

type Handler = (message: Uint8Array) => void;

/** What may wait to be published while Redis is away: a few seconds of a busy node's edits. */
export const unsentLimit = 8 * 1024 * 1024;

/**
 * How many spaces whose messages were dropped are remembered by name. Only rooms open on this
 * node publish, so an outage reaches this only with that many rooms open (or opened) here.
 * Beyond it every node resyncs every loaded room instead, as after an outage of its own.
 */
export const droppedSpacesLimit = 10_000;

interface Unsent {
  spaceId: SpaceId;
  channel: string;
  bytes: Buffer;
}

interface Channel {
  handlers: Set<Handler>;
  /** Settles once Redis confirmed the SUBSCRIBE (or it failed and waits for the reconnect). */
  subscribed: Promise<void>;
}

/**
 * Redis pub/sub: one channel per space. Subscribing takes a connection of its own (a
 * subscribed Redis connection can run nothing else), so there are two.
 *
 * Redis going away must not stop a node from serving its own sockets: publishing then resolves
 * at once, and once Redis is back every channel is subscribed again and the `onRecovered`
 * listeners run, so rooms reload what they missed from storage — which every node wrote to
 * before publishing. What this node could not publish meanwhile waits, in order, and is sent
 * when its publishing connection is ready again: the other nodes' subscriptions may have come
 * back first (they then resynced before these messages were stored), or never have gone away
 * (only this node lost Redis), and nothing else would tell them. Up to `unsentLimit` bytes
 * wait; beyond that the oldest are dropped. Once the rest is sent, the `onDropped` listeners
 * learn which spaces lost messages (the space bus then asks the other nodes' rooms of those
 * spaces to read storage): a room that hears nothing later of its space would not see the gap.
 */
export class RedisPubSub implements PubSub {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  /**
   * Where a node that dropped too many spaces' messages to name them asks every other node to
   * resync all its rooms. A space id never holds a `*`, so no space's channel is this one.
   */
  readonly #everySpace: string;
  readonly #log: RedisPubSubOptions['log'];
  readonly #channels = new Map<string, Channel>();
  readonly #recoveredListeners = new Set<() => void>();
  readonly #droppedListeners = new Set<(spaceIds: readonly SpaceId[]) => void>();
  /** Sent with this node's request that every node resync all its rooms: it ignores its own. */
  readonly #instanceId = randomBytes(9);
  /** Messages may have been missed since this turned true; cleared when listeners are told. */
  #missedMessages = false;
  /** The current outage (or unreachable start) is logged; cleared when Redis is back. */
  #outageLogged = false;
  /** Settles at the first connection's outcome, whether ready or refused. */
  readonly #firstAttempt: Promise<void>;
  #publishFailuresThisOutage = 0;
  /** Messages not yet published, oldest first; sent in order once the publisher is ready. */
  readonly #unsent: Unsent[] = [];
  #unsentBytes = 0;
  #draining = false;
  #droppedLogged = false;
  /** Spaces whose messages were dropped since the backlog last drained; 'every' past the limit. */
  #droppedSpaces: Set<SpaceId> | 'every' = new Set();
  readonly #unsentLimit: number;
  #closed = false;

  constructor(options: RedisPubSubOptions) {
    this.#prefix = options.channelPrefix ?? 'mend:space:';
    this.#everySpace = `${this.#prefix}*`;
    this.#log = options.log;
    this.#unsentLimit = options.unsentLimit ?? unsentLimit;
    const common = {
      // Commands fail at once while disconnected instead of queueing without bound; what was
      // missed is recovered from storage, not replayed from a queue.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 5_000,
      // Keep trying every two seconds at most, for as long as the process lives.
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
    };
    this.#publisher = new Redis(options.url, { ...common, connectionName: 'mend-publish' });
    // Resubscribing is done here rather than by ioredis, so that the recovery listeners run
    // only once every channel is live again.
    this.#subscriber = new Redis(options.url, {
      ...common,
      connectionName: 'mend-subscribe',
      autoResubscribe: false,
    });

    this.#publisher.on('error', (err) => this.#onConnectionError(err));
    this.#subscriber.on('error', (err) => this.#onConnectionError(err));
    this.#publisher.on('ready', () => {
      this.#publishFailuresThisOutage = 0;
      void this.#drain();
    });
    this.#firstAttempt = new Promise<void>((resolve) => {
      this.#subscriber.once('ready', resolve);
      this.#subscriber.once('error', () => resolve());
      this.#subscriber.once('close', resolve);
    });
    this.#subscriber.on('close', () => this.#onSubscriberClosed());
    this.#subscriber.on('ready', () => void this.#onSubscriberReady());
    this.#subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      this.#deliver(channel.toString(), message),
    );
  }

  async publish(spaceId: SpaceId, message: Uint8Array): Promise<void> {
    if (this.#closed) return;
    const unsent: Unsent = {
      spaceId,
      channel: this.#channelName(spaceId),
      bytes: Buffer.from(message.buffer, message.byteOffset, message.byteLength),
    };
    // Behind what already waits, so other nodes hear this node's messages in the order sent.
    if (this.#unsent.length > 0 || this.#publisher.status !== 'ready') {
      this.#keep(unsent, undefined);
      return this.#drain();
    }
    try {
      await this.#publisher.publish(unsent.channel, unsent.bytes);
    } catch (err) {
      this.#keep(unsent, err);
    }
  }

  /** Other processes may subscribe to the same Redis: they cannot be counted from here. */
  subscribers(): null {
    return null;
  }

  async subscribe(spaceId: SpaceId, onMessage: Handler): Promise<() => Promise<void>> {
    if (this.#closed) throw new Error('the Redis pub/sub is closed');
    const name = this.#channelName(spaceId);
    let channel = this.#channels.get(name);
    if (!channel) {
      channel = { handlers: new Set(), subscribed: this.#subscribeChannel(name) };
      this.#channels.set(name, channel);
    }
    const handler: Handler = (message) => onMessage(message);
    channel.handlers.add(handler);
    await channel.subscribed;
    return async () => {
      const current = this.#channels.get(name);
      if (!current?.handlers.delete(handler) || current.handlers.size > 0) return;
      this.#channels.delete(name);
      if (this.#subscriber.status !== 'ready') return;
      try {
        await this.#subscriber.unsubscribe(name);
      } catch (err) {
        // Harmless: messages for a channel without handlers are dropped on arrival.
        this.#log.warn({ err }, 'redis unsubscribe failed');
      }
    };
  }

  /**
   * Resolves once both connections to Redis are ready. Never rejects: while Redis is away the
   * node serves its own sockets, so start-up may wait on this with a bound of its choosing.
   */
  async connected(): Promise<void> {
    await Promise.all([this.#publisher, this.#subscriber].map(untilReady));
  }

  onRecovered(listener: () => void): () => void {
    // Wrapped so the same function may be registered twice and removed once per registration.
    const entry = (): void => listener();
    this.#recoveredListeners.add(entry);
    return () => {
      this.#recoveredListeners.delete(entry);
    };
  }

  /**
   * Called once the backlog is sent after some of it was dropped, with the spaces that lost
   * messages: the other nodes' subscribers of those spaces missed some of this node's messages.
   */
  onDropped(listener: (spaceIds: readonly SpaceId[]) => void): () => void {
    const entry = (spaceIds: readonly SpaceId[]): void => listener(spaceIds);
    this.#droppedListeners.add(entry);
    return () => {
      this.#droppedListeners.delete(entry);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#channels.clear();
    this.#recoveredListeners.clear();
    this.#droppedListeners.clear();
    await Promise.all([quit(this.#publisher), quit(this.#subscriber)]);
  }

  #channelName(spaceId: SpaceId): string {
    return `${this.#prefix}${spaceId}`;
  }

  async #subscribeChannel(name: string): Promise<void> {
    // A room opened in the first moments after start-up waits for the connection being made,
    // rather than being counted as missing messages from a Redis that is in fact there.
    if (this.#subscriber.status !== 'ready') await this.#firstAttempt;
    if (this.#subscriber.status !== 'ready') {
      // Redis is away: the room works locally now, and the channel is subscribed (and the
      // room resynced) when the connection is ready.
      this.#missedMessages = true;
      return;
    }
    try {
      await this.#subscriber.subscribe(name);
    } catch (err) {
      this.#missedMessages = true;
      this.#log.warn({ err }, 'redis subscribe failed; retrying when the connection is back');
    }
  }

  #deliver(channelName: string, message: Buffer): void {
    if (channelName === this.#everySpace) {
      if (!message.equals(this.#instanceId)) this.#tellRecovered();
      return;
    }
    const channel = this.#channels.get(channelName);
    if (!channel) return;
    const bytes = new Uint8Array(message);
    for (const handler of channel.handlers) {
      try {
        handler(bytes);
      } catch (err) {
        // Thrown from inside ioredis' reply parser, this would tear the connection down.
        this.#log.error({ err }, 'a pub/sub message handler threw');
      }
    }
  }

  /** Publishes what waits, oldest first, while the publisher is ready; one drain at a time. */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#unsent.length > 0 && this.#publisher.status === 'ready' && !this.#closed) {
        const next = this.#unsent[0]!;
        try {
          await this.#publisher.publish(next.channel, next.bytes);
        } catch (err) {
          this.#notePublishFailed(err);
          return;
        }
        // Unless it was dropped meanwhile to make room (then it is no longer at the front).
        if (this.#unsent[0] === next) {
          this.#unsent.shift();
          this.#unsentBytes -= next.bytes.length;
        }
      }
    } finally {
      this.#draining = false;
    }
    if (this.#unsent.length === 0 && !this.#closed) await this.#tellDropped();
  }

  /** After the backlog is sent: who missed which of this node's messages. */
  async #tellDropped(): Promise<void> {
    const dropped = this.#droppedSpaces;
    if (dropped !== 'every' && dropped.size === 0) return;
    this.#droppedSpaces = new Set();
    if (dropped === 'every') {
      this.#log.warn('redis publish backlog drained: every node resyncs its rooms from storage');
      try {
        await this.#publisher.publish(this.#everySpace, this.#instanceId);
      } catch (err) {
        // Not kept for later: their devices still catch up when they reconnect.
        this.#log.error({ err }, 'could not ask the other nodes to resync their rooms');
      }
      return;
    }
    const spaceIds = [...dropped];
    this.#log.info(
      { spaces: spaceIds.length },
      'redis publish backlog drained: other nodes resync the spaces whose messages were dropped',
    );
    for (const listener of this.#droppedListeners) {
      try {
        listener(spaceIds);
      } catch (err) {
        this.#log.error({ err }, 'a pub/sub dropped-messages listener threw');
      }
    }
  }

  #keep(unsent: Unsent, err: unknown): void {
    this.#notePublishFailed(err);
    this.#unsent.push(unsent);
    this.#unsentBytes += unsent.bytes.length;
    let dropped = 0;
    while (this.#unsentBytes > this.#unsentLimit && this.#unsent.length > 0) {
      const oldest = this.#unsent.shift()!;
      this.#unsentBytes -= oldest.bytes.length;
      this.#noteDropped(oldest.spaceId);
      dropped++;
    }
    if (dropped > 0 && !this.#droppedLogged) {
      this.#droppedLogged = true;
      this.#log.error(
        { dropped, limit: this.#unsentLimit },
        'redis publish backlog full: this node’s oldest messages are dropped; other nodes resync those spaces from storage once redis is back',
      );
    }
  }

  #noteDropped(spaceId: SpaceId): void {
    if (this.#droppedSpaces === 'every') return;
    this.#droppedSpaces.add(spaceId);
    if (this.#droppedSpaces.size > droppedSpacesLimit) this.#droppedSpaces = 'every';
  }

  #notePublishFailed(err: unknown): void {
    this.#publishFailuresThisOutage++;
    // Once per outage: every edit of every room fails the same way until Redis returns.
    if (this.#publishFailuresThisOutage === 1) {
      this.#droppedLogged = false;
      this.#log.error(
        { err },
        'redis publish failed: this node’s messages wait and are sent when redis is back',
      );
    }
  }

  #onConnectionError(err: Error): void {
    // ioredis reports every failed reconnect attempt of both connections: one line per outage.
    this.#reportOutage(err);
  }

  #onSubscriberClosed(): void {
    if (this.#closed) return;
    this.#missedMessages = true;
    this.#reportOutage(undefined);
  }

  #reportOutage(err: Error | undefined): void {
    if (this.#outageLogged || this.#closed) return;
    this.#outageLogged = true;
    this.#log.error(
      { err },
      'redis unreachable: serving this node’s sockets only; rooms resync from storage when it is back',
    );
  }

  async #onSubscriberReady(): Promise<void> {
    const names = [...this.#channels.keys()];
    try {
      await this.#subscriber.subscribe(this.#everySpace, ...names);
    } catch (err) {
      // The connection broke again; the next 'ready' tries again.
      this.#log.warn({ err }, 'redis resubscribe failed');
      return;
    }
    this.#outageLogged = false;
    if (!this.#missedMessages || this.#closed) return;
    this.#missedMessages = false;
    this.#log.info(
      { channels: names.length },
      'redis is back: subscriptions restored, rooms resync from storage',
    );
    this.#tellRecovered();
  }

  #tellRecovered(): void {
    for (const listener of this.#recoveredListeners) {
      try {
        listener();
      } catch (err) {
        this.#log.error({ err }, 'a pub/sub recovery listener threw');
      }
    }
  }
}

async function untilReady(connection: Redis): Promise<void> {
  if (connection.status === 'ready') return;
  await new Promise<void>((resolve) => connection.once('ready', () => resolve()));
}

async function quit(connection: Redis): Promise<void> {
  try {
    if (connection.status === 'ready') {
      await connection.quit();
      return;
    }
  } catch {
    // Falls through to a hard disconnect.
  }
  connection.disconnect();
}
