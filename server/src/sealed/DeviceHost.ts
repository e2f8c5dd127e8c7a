import type { SpaceId } from '@mend/protocol';
import type { RoomSocket, SocketHost } from '../sync/RoomSocket.js';
import type { CompactBytes } from './compactBytes.js';

/** What a DeviceHost needs of its sealed room. */
export interface DeviceRoom {
  readonly spaceId: SpaceId;
  attach(socket: RoomSocket, device: CompactBytes): boolean;
  receive(socket: RoomSocket, message: Uint8Array): void;
  detach(socket: RoomSocket): void;
}

/**
 * A sealed room as one device's sockets see it (SealedRoom.hostFor): the room and the device's
 * signing key, nothing else of its record, in one small object the transport keeps per socket.
 */
export class DeviceHost implements SocketHost {
  readonly #room: DeviceRoom;
  readonly #device: CompactBytes;

  constructor(room: DeviceRoom, device: CompactBytes) {
    this.#room = room;
    this.#device = device;
  }

  get spaceId(): SpaceId {
    return this.#room.spaceId;
  }

  attach(socket: RoomSocket): boolean {
    return this.#room.attach(socket, this.#device);
  }

  receive(socket: RoomSocket, message: Uint8Array): void {
    this.#room.receive(socket, message);
  }

  detach(socket: RoomSocket): void {
    this.#room.detach(socket);
  }
}
