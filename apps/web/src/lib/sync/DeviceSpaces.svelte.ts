import { PartnerIdSchema, SpaceIdSchema, type SpaceId } from '@mend/protocol';
import { createSubscriber } from 'svelte/reactivity';
import * as v from 'valibot';
import { memoryStorage } from './memoryStorage.js';
import { nowIso } from '../time.js';

/**
 * What this device remembers about the spaces it belongs to. Never the token: the server keeps
 * that in an HttpOnly cookie. The invite code (for a sealed space, the invite secret that goes
 * into the link's fragment) is kept only until the partner has joined, so the person who created
 * the space can find the invite link again; it is forgotten afterwards. A sealed space's keys
 * are not here: they live in its IndexedDB database, sealed at rest (`@mend/sealed`).
 */
const RememberedSpaceSchema = v.object({
  spaceId: SpaceIdSchema,
  partnerId: PartnerIdSchema,
  displayName: v.string(),
  spaceName: v.optional(v.string()),
  inviteCode: v.optional(v.string()),
  /** End-to-end encrypted (docs/protocol.md); absent for a space made before sealed spaces. */
  sealed: v.optional(v.literal(true)),
  addedAt: v.string(),
});
const ListSchema = v.array(RememberedSpaceSchema);

export type RememberedSpace = v.InferOutput<typeof RememberedSpaceSchema>;

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
    // Parsing keeps only the known fields: whatever else a caller passes (such as a whole
    // create response with its token) is never written down.
    const entry = v.parse(RememberedSpaceSchema, { ...space, addedAt: space.addedAt ?? nowIso() });
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
      if (value === undefined) delete (next as Record<string, unknown>)[key];
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
    try {
      const parsed = v.safeParse(ListSchema, JSON.parse(raw));
      return parsed.success ? parsed.output : [];
    } catch {
      return [];
    }
  }

  #write(list: RememberedSpace[]): void {
    this.#storage.setItem(DEVICE_SPACES_KEY, JSON.stringify(list));
    this.#notify?.();
  }
}

export const deviceSpaces = new DeviceSpaces(
  typeof localStorage === 'undefined' ? memoryStorage() : localStorage,
);
