import { ID_PATTERN, Limits } from '@mend/model';
import { createSubscriber } from 'svelte/reactivity';
import type { Awareness } from 'y-protocols/awareness';

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

/**
 * An awareness state from the other side of a socket, read as untrusted: the fields Mend uses,
 * each of its shape and within its limits, or null (docs/api.md, Presence). By hand rather than
 * with a schema library: presence is first-load code.
 */
export function readPeerState(state: unknown): Omit<Peer, 'clientId'> | null {
  if (!isObject(state) || !isObject(state['user'])) return null;
  const { partnerId, name, color } = state['user'];
  if (typeof partnerId !== 'string' || !ID_PATTERN.test(partnerId)) return null;
  if (typeof name !== 'string' || [...name].length > Limits.displayName) return null;
  if (typeof color !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(color)) return null;
  const focus = readOptional(state['focus'], (f) =>
    shortText(f['kind'], 40) && shortText(f['id'], 64) ? { kind: f['kind'], id: f['id'] } : null,
  );
  const cursor = readOptional(state['cursor'], (c) =>
    shortText(c['field'], 40) && isObject(c['position'])
      ? { field: c['field'], position: c['position'] }
      : null,
  );
  if (focus === undefined || cursor === undefined) return null;
  return { partnerId, name, color, focus, cursor };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max;
}

/** Absent or null reads as null; an object as `read` says; anything else is malformed (undefined). */
function readOptional<T>(
  value: unknown,
  read: (o: Record<string, unknown>) => T | null,
): T | null | undefined {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) return undefined;
  return read(value) ?? undefined;
}

/** What this device tells the other side about itself (docs/api.md, Presence). */
export interface AwarenessUser {
  partnerId: string;
  name: string;
  color: string;
}
export interface AwarenessFocus {
  kind: string;
  id: string;
}
/** Where in a shared text this person's caret is: a Yjs relative position, so it survives edits. */
export interface AwarenessCursor {
  field: string;
  position: unknown;
}

/**
 * Who else has this space open right now and what they are looking at; and what this device
 * tells them about itself, published from the start as `user`.
 */
export class Presence {
  readonly #awareness: Awareness;
  readonly #subscribe: () => void;
  /** Who this device says it is, kept while its presence is withdrawn. */
  #user: AwarenessUser;

  constructor(awareness: Awareness, user: AwarenessUser) {
    this.#awareness = awareness;
    this.#user = user;
    awareness.setLocalStateField('user', user);
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
      const peer = readPeerState(state);
      if (peer) peers.push({ clientId, ...peer });
    }
    return peers;
  }

  /** Who this device says it is, e.g. after a name change or once the partner's colour is known. */
  setUser(user: AwarenessUser): void {
    this.#user = user;
    const current = this.#awareness.getLocalState()?.['user'] as AwarenessUser | undefined;
    if (
      current?.partnerId === user.partnerId &&
      current.name === user.name &&
      current.color === user.color
    ) {
      return;
    }
    this.#awareness.setLocalStateField('user', user);
  }

  /**
   * Publishes this device's presence, or withdraws it when this person chose not to show when
   * they are here (Settings). Withdrawn means no awareness state at all: focus and caret would
   * tell the partner the same thing, and y-protocols drops field writes to a null state.
   */
  setShown(shown: boolean): void {
    const state = this.#awareness.getLocalState();
    if (shown && state === null) this.#awareness.setLocalState({ user: this.#user });
    if (!shown && state !== null) this.#awareness.setLocalState(null);
  }

  /** Tells the partner what this person is looking at or typing in (docs/api.md, Presence). */
  setFocus(focus: AwarenessFocus | null): void {
    this.#awareness.setLocalStateField('focus', focus ?? undefined);
    if (!focus) this.#awareness.setLocalStateField('cursor', undefined);
  }

  /** Shares the caret inside the focused item, so the partner sees where this person types. */
  setCursor(cursor: AwarenessCursor | null): void {
    this.#awareness.setLocalStateField('cursor', cursor ?? undefined);
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
