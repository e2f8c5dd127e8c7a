import { isPartnerId, isSpaceId, type PartnerId, type SpaceId } from '@mend/protocol';
import { createSubscriber } from 'svelte/reactivity';
import { memoryStorage } from './memoryStorage.js';
import { nowIso } from '../time.js';

/**
 * What this device remembers about the spaces it belongs to. Never the token: the server keeps
 * that in an HttpOnly cookie. The invite code (for a sealed space, the invite secret that goes
 * into the link's fragment) is kept only until the partner has joined, so the person who created
 * the space can find the invite link again; it is forgotten afterwards. A sealed space's keys
 * are not here: they live in its IndexedDB database, sealed at rest (`@mend/sealed`).
 */
export interface RememberedSpace {
  spaceId: SpaceId;
  partnerId: PartnerId;
  displayName: string;
  spaceName?: string;
  inviteCode?: string;
  /** End-to-end encrypted (docs/protocol.md); absent for a space made before sealed spaces. */
  sealed?: true;
  addedAt: string;
}

/**
 * One remembered space read back from storage anyone on this device can edit: only the known
 * fields, each of its type, or null. Building a fresh object also means whatever else a caller
 * passed (a whole create response with its token, say) is never written down. Read by hand, not
 * with a schema library: the list is read on every first load.
 */
function readEntry(value: unknown): RememberedSpace | null {
  if (typeof value !== 'object' || value === null) return null;
  const { spaceId, partnerId, displayName, spaceName, inviteCode, sealed, addedAt } =
    value as Record<string, unknown>;
  if (!isSpaceId(spaceId) || !isPartnerId(partnerId)) return null;
  if (typeof displayName !== 'string' || typeof addedAt !== 'string') return null;
  if (!optionalText(spaceName) || !optionalText(inviteCode)) return null;
  if (sealed !== undefined && sealed !== true) return null;
  return {
    spaceId,
    partnerId,
    displayName,
    ...(spaceName === undefined ? {} : { spaceName }),
    ...(inviteCode === undefined ? {} : { inviteCode }),
    ...(sealed ? { sealed } : {}),
    addedAt,
  };
}

function optionalText(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

export const DEVICE_SPACES_KEY = 'mend:spaces';

export class DeviceSpaces {
  readonly #storage: Storage;
  readonly #subscribe: () => void;
  #notify: (() => void) | null = null;

  constructor(storage: Storage = localStorage) {
    this.#storage = storage;
    this.#subscribe = createSubscriber((update) => {
      this.#notify = update;
      const onStorage = (event: StorageEvent) => {
        if (event.key === null || event.key === DEVICE_SPACES_KEY) update();
      };
      if (typeof window !== 'undefined') window.addEventListener('storage', onStorage);
      return () => {
        this.#notify = null;
        if (typeof window !== 'undefined') window.removeEventListener('storage', onStorage);
      };
    });
  }

  get current(): readonly RememberedSpace[] {
    this.#subscribe();
    return this.#read();
  }

  get(spaceId: SpaceId): RememberedSpace | undefined {
    return this.current.find((s) => s.spaceId === spaceId);
  }

  /** Adds or replaces the entry for this space. */
  remember(space: Omit<RememberedSpace, 'addedAt'> & { addedAt?: string }): void {
    const list = this.#read().filter((s) => s.spaceId !== space.spaceId);
    // Reading keeps only the known fields: whatever else a caller passes (such as a whole
    // create response with its token) is never written down.
    const entry = readEntry({ ...space, addedAt: space.addedAt ?? nowIso() });
    if (!entry) throw new TypeError('Not a space this device can remember.');
    this.#write([...list, entry]);
  }

  update(spaceId: SpaceId, patch: Partial<Omit<RememberedSpace, 'spaceId'>>): void {
    const list = this.#read();
    const index = list.findIndex((s) => s.spaceId === spaceId);
    const existing = list[index];
    if (!existing) return;
    const next: RememberedSpace = { ...existing, ...patch };
    // `undefined` in a patch means "forget this field".
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete (next as unknown as Record<string, unknown>)[key];
    }
    list[index] = next;
    this.#write(list);
  }

  forget(spaceId: SpaceId): void {
    this.#write(this.#read().filter((s) => s.spaceId !== spaceId));
  }

  #read(): RememberedSpace[] {
    let raw: string | null;
    try {
      raw = this.#storage.getItem(DEVICE_SPACES_KEY);
    } catch {
      return [];
    }
    if (raw === null) return [];
    let list: unknown;
    try {
      list = JSON.parse(raw);
    } catch {
      return [];
    }
    // A damaged entry is left out; the others stay.
    return Array.isArray(list) ? list.flatMap((item) => readEntry(item) ?? []) : [];
  }

  #write(list: RememberedSpace[]): void {
    this.#storage.setItem(DEVICE_SPACES_KEY, JSON.stringify(list));
    this.#notify?.();
  }
}

export const deviceSpaces = new DeviceSpaces(
  typeof localStorage === 'undefined' ? memoryStorage() : localStorage,
);
