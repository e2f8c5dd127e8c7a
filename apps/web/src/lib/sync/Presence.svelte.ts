import { ID_PATTERN, Limits } from '@mend/model';
import { createSubscriber } from 'svelte/reactivity';
import type { Awareness } from 'y-protocols/awareness';
import * as v from 'valibot';

/** Another device's awareness state, as far as Mend reads it (docs/api.md, Presence). */
export interface Peer {
  clientId: number;
  partnerId: string;
  name: string;
  color: string;
  focus: { kind: string; id: string } | null;
  /** `position` is a Yjs relative position as JSON; resolve it against the document. */
  cursor: { field: string; position: Record<string, unknown> } | null;
}

// Awareness states come from the other side of a socket: read them as untrusted.
const PeerStateSchema = v.object({
  user: v.object({
    partnerId: v.pipe(v.string(), v.regex(ID_PATTERN)),
    name: v.pipe(
      v.string(),
      v.check((s) => [...s].length <= Limits.displayName),
    ),
    color: v.pipe(v.string(), v.regex(/^#[0-9a-fA-F]{6}$/)),
  }),
  focus: v.optional(
    v.nullable(
      v.object({
        kind: v.pipe(v.string(), v.maxLength(40)),
        id: v.pipe(v.string(), v.maxLength(64)),
      }),
    ),
  ),
  cursor: v.optional(
    v.nullable(
      v.object({
        field: v.pipe(v.string(), v.maxLength(40)),
        position: v.record(v.string(), v.unknown()),
      }),
    ),
  ),
});

/** Who else has this space open right now, and what they are looking at. */
export class Presence {
  readonly #awareness: Awareness;
  readonly #subscribe: () => void;

  constructor(awareness: Awareness) {
    this.#awareness = awareness;
    this.#subscribe = createSubscriber((update) => {
      awareness.on('change', update);
      return () => awareness.off('change', update);
    });
  }

  /** Every other device's state (the other partner's, and this partner's other devices). */
  get current(): Peer[] {
    this.#subscribe();
    const peers: Peer[] = [];
    for (const [clientId, state] of this.#awareness.getStates()) {
      if (clientId === this.#awareness.clientID) continue;
      const parsed = v.safeParse(PeerStateSchema, state);
      if (!parsed.success) continue;
      const { user, focus, cursor } = parsed.output;
      peers.push({ clientId, ...user, focus: focus ?? null, cursor: cursor ?? null });
    }
    return peers;
  }

  /** Whether any device of `partnerId` is connected. */
  isOnline(partnerId: string): boolean {
    return this.current.some((peer) => peer.partnerId === partnerId);
  }

  /** The devices of `partnerId` focused on the given item (e.g. typing in an agreement). */
  focusedOn(partnerId: string, kind: string, id: string): Peer[] {
    return this.current.filter(
      (peer) => peer.partnerId === partnerId && peer.focus?.kind === kind && peer.focus.id === id,
    );
  }
}
