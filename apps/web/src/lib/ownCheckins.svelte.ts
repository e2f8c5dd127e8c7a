import type { CheckinSnapshot } from '@mend/model';
import type { OwnCheckin } from '@mend/sealed';
import type * as PrivateCheckins from './privateCheckins.js';
import type { SpaceConnection } from './sync/SpaceConnection.svelte.js';

type Sealing = typeof PrivateCheckins;

/**
 * This partner's check-ins as they read them (Progress, Export; Today opens its one itself, so
 * that its first load holds none of this). What they kept private opens once the sealing has
 * loaded (it starts loading with the first private one asked for) and the seat secret is on this
 * device: `undefined` until then, `null` when it does not open here.
 */
export class OwnCheckins {
  readonly #connection: SpaceConnection;
  #sealing = $state.raw<Sealing | null>(null);
  /**
   * Opened once per sealed text: a private check-in is read on every render of Progress. A memo,
   * not state: it is filled while rendering, where changing state is not allowed.
   */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #opened = new Map<string, OwnCheckin | null>();

  constructor(connection: SpaceConnection) {
    this.#connection = connection;
  }

  read(checkin: CheckinSnapshot): OwnCheckin | null | undefined {
    if (checkin.private === null) {
      const { safety, state, note } = checkin;
      return { safety, state, note, private: null };
    }
    if (this.#connection.keysMissing) return null;
    const sealing = this.#sealing;
    const seat = this.#connection.seatSecret;
    if (!sealing) {
      void import('./sync/sealedSync.js')
        .then((m) => m.loadPrivateCheckins())
        .then((m) => (this.#sealing = m));
      return undefined;
    }
    if (!seat) return undefined;
    const at = `${checkin.key}:${checkin.sealed}`;
    if (!this.#opened.has(at)) {
      this.#opened.set(at, sealing.readOwn(seat, this.#connection.spaceId, checkin));
    }
    return this.#opened.get(at);
  }
}
