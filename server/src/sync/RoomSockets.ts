import { CloseCode } from '@mend/protocol';
import type { Limits } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { RoomSocket } from './RoomSocket.js';
import { SocketBudget, type BudgetLimits } from './SocketBudget.js';

export interface RoomSocketsDeps {
  limits: BudgetLimits & Pick<Limits, 'socketsPerSpace'>;
  metrics: Metrics;
  now: () => number;
}

/** A plaintext room's member: the socket's budget itself. */
export const budgetOnly = (budget: SocketBudget): SocketBudget => budget;

/**
 * The sockets in one room: who is let in (up to socketsPerSpace), what each may still send
 * (its SocketBudget, in its `Member`: the budget itself, or a sealed room's session that holds
 * it, so that a room keeps one map of its sockets), and sending to one or all of them, counted.
 */
export class RoomSockets<Member = SocketBudget> {
  readonly #deps: RoomSocketsDeps;
  readonly #members = new Map<RoomSocket, Member>();

  constructor(deps: RoomSocketsDeps) {
    this.#deps = deps;
  }

  /**
   * Adds `socket` as `member(budget)`, with a full budget. False, having closed it with 1013, if
   * the room is full.
   */
  admit(socket: RoomSocket, member: (budget: SocketBudget) => Member): boolean {
    if (this.#members.size >= this.#deps.limits.socketsPerSpace) {
      this.#deps.metrics.reject('room-full');
      socket.close(CloseCode.tooMany);
      return false;
    }
    this.#members.set(socket, member(new SocketBudget(this.#deps.limits, this.#deps.now())));
    return true;
  }

  has(socket: RoomSocket): boolean {
    return this.#members.has(socket);
  }

  /** The socket's member, or undefined if it is not in the room. */
  get(socket: RoomSocket): Member | undefined {
    return this.#members.get(socket);
  }

  /** The sockets in the room, each with its member (live: it changes as sockets come and go). */
  get members(): ReadonlyMap<RoomSocket, Member> {
    return this.#members;
  }

  /** Forgets `socket`. Returns whether it was in the room. */
  remove(socket: RoomSocket): boolean {
    return this.#members.delete(socket);
  }

  /** Forgets every socket and returns them. */
  removeAll(): RoomSocket[] {
    const sockets = [...this.#members.keys()];
    this.#members.clear();
    return sockets;
  }

  /** Closes every socket with `code`, forgetting each as it goes. */
  closeAll(code: CloseCode): void {
    for (const socket of [...this.#members.keys()]) {
      socket.close(code);
      this.#members.delete(socket);
    }
  }

  send(socket: RoomSocket, message: Uint8Array): void {
    this.#deps.metrics.messagesOut.inc();
    socket.send(message);
  }

  broadcast(message: Uint8Array, except: RoomSocket | null): void {
    for (const socket of this.#members.keys()) {
      if (socket !== except) this.send(socket, message);
    }
  }
}
