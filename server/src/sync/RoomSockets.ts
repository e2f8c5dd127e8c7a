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

/**
 * The sockets in one room: who is let in (up to socketsPerSpace), what each may still send
 * (its SocketBudget), and sending to one or all of them, counted.
 */
export class RoomSockets {
  readonly #deps: RoomSocketsDeps;
  readonly #budgets = new Map<RoomSocket, SocketBudget>();

  constructor(deps: RoomSocketsDeps) {
    this.#deps = deps;
  }

  /** Adds `socket` with a full budget. False, having closed it with 1013, if the room is full. */
  admit(socket: RoomSocket): boolean {
    if (this.#budgets.size >= this.#deps.limits.socketsPerSpace) {
      this.#deps.metrics.reject('room-full');
      socket.close(CloseCode.tooMany);
      return false;
    }
    this.#budgets.set(socket, new SocketBudget(this.#deps.limits, this.#deps.now()));
    return true;
  }

  has(socket: RoomSocket): boolean {
    return this.#budgets.has(socket);
  }

  /** The socket's budget, or undefined if it is not in the room. */
  budget(socket: RoomSocket): SocketBudget | undefined {
    return this.#budgets.get(socket);
  }

  /** Forgets `socket`. Returns whether it was in the room. */
  remove(socket: RoomSocket): boolean {
    return this.#budgets.delete(socket);
  }

  /** Forgets every socket and returns them. */
  removeAll(): RoomSocket[] {
    const sockets = [...this.#budgets.keys()];
    this.#budgets.clear();
    return sockets;
  }

  /** Closes every socket with `code`, forgetting each as it goes. */
  closeAll(code: CloseCode): void {
    for (const socket of [...this.#budgets.keys()]) {
      socket.close(code);
      this.#budgets.delete(socket);
    }
  }

  send(socket: RoomSocket, message: Uint8Array): void {
    this.#deps.metrics.messagesOut.inc();
    socket.send(message);
  }

  broadcast(message: Uint8Array, except: RoomSocket | null): void {
    for (const socket of this.#budgets.keys()) {
      if (socket !== except) this.send(socket, message);
    }
  }
}
