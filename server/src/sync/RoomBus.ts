import type { SpaceId } from '@mend/protocol';
import type { Logger } from '../log.js';
import type { BusKind, BusListener, BusMessage, SpaceBus } from '../pubsub/SpaceBus.js';

/**
 * One room's end of the SpaceBus, its line to the other server processes. It subscribes before
 * the room loads, so that whatever another node stores meanwhile is either in the load or in
 * the backlog, and hands the backlog over once the room is open. Publishing never throws.
 */
export class RoomBus implements BusListener {
  readonly #spaceId: SpaceId;
  readonly #bus: SpaceBus;
  readonly #log: Logger;
  #unsubscribe: (() => Promise<void>) | null = null;
  #backlog: BusMessage[] | null = [];
  #onMessage: ((message: BusMessage) => void) | null = null;

  constructor(spaceId: SpaceId, bus: SpaceBus, log: Logger) {
    this.#spaceId = spaceId;
    this.#bus = bus;
    this.#log = log;
  }

  /** Subscribes; until `open`, messages wait in the backlog. */
  async subscribe(onMessage: (message: BusMessage) => void): Promise<void> {
    this.#onMessage = onMessage;
    this.#unsubscribe = await this.#bus.subscribe(this.#spaceId, this);
  }

  /** The bus's (BusListener): a message from another node, held back until `open`. */
  onBusMessage(message: BusMessage): void {
    if (this.#backlog) this.#backlog.push(message);
    else this.#onMessage?.(message);
  }

  /** The bus's (BusListener). */
  onUndecodable(error: unknown): void {
    this.#log.warn({ err: error, spaceId: this.#spaceId }, 'undecodable pub/sub message dropped');
  }

  /** Hands over what arrived while the room loaded, then every message as it arrives. */
  open(): void {
    const backlog = this.#backlog ?? [];
    this.#backlog = null;
    for (const message of backlog) this.#onMessage?.(message);
  }

  /** Whether a publish may reach another node (else it is skipped: see SpaceBus). */
  get othersListening(): boolean {
    return this.#bus.othersListening(this.#spaceId);
  }

  /** Publishes to the other nodes; a failure is logged, never thrown (the promise never rejects). */
  publish(kind: BusKind, payload: Uint8Array): Promise<void> {
    return this.#bus.publish(this.#spaceId, kind, payload).catch((error: unknown) => {
      this.#log.warn({ err: error, spaceId: this.#spaceId }, 'pub/sub publish failed');
    });
  }

  /** Unsubscribes; never rejects. */
  async close(): Promise<void> {
    await this.#unsubscribe?.().catch(() => {});
    this.#unsubscribe = null;
  }
}
