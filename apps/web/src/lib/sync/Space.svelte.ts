import {
  getSpace,
  isModelError,
  listAgreements,
  listBoundaries,
  listBreaks,
  listCheckins,
  listPartners,
  listQuestions,
  listShares,
  markPartnerSeen,
  roots,
  type PartnerId,
  type PartnerSnapshot,
  type SpaceId,
} from '@mend/model';
import { getContext, setContext } from 'svelte';
import type { Presence } from './Presence.svelte.js';
import { SpaceConnection, type SpaceConnectionOptions } from './SpaceConnection.svelte.js';
import { YView } from './YView.svelte.js';

/**
 * Everything a screen needs about the open space: the connection, who is here, and reactive
 * reads of each part of the document. Each view watches only its own root, so a new check-in
 * does not recompute the list of agreements.
 */
export class Space {
  readonly connection: SpaceConnection;
  readonly presence: Presence;
  readonly me: PartnerId;
  readonly spaceId: SpaceId;

  readonly meta: YView<{ name: string; createdAt: number } | null>;
  readonly partners: YView<PartnerSnapshot[]>;
  readonly agreements: YView<ReturnType<typeof listAgreements>>;
  readonly questions: YView<ReturnType<typeof listQuestions>>;
  readonly checkins: YView<ReturnType<typeof listCheckins>>;
  readonly boundaries: YView<ReturnType<typeof listBoundaries>>;
  readonly shares: YView<ReturnType<typeof listShares>>;
  readonly breaks: YView<ReturnType<typeof listBreaks>>;

  #seenTimer: ReturnType<typeof setInterval> | null = null;
  #offSync: (() => void) | null = null;

  constructor(options: SpaceConnectionOptions) {
    this.connection = new SpaceConnection(options);
    this.presence = this.connection.presence;
    this.me = options.partnerId as string as PartnerId;
    this.spaceId = options.spaceId as string as SpaceId;
    const doc = this.connection.doc;
    const r = roots(doc);
    this.meta = new YView([r.space], () => getSpace(doc));
    this.partners = new YView([r.partners], () =>
      safely(() => listPartners(doc), []).map((p) => ({ ...p, color: safeColor(p.color) })),
    );
    this.agreements = new YView([r.agreements], () => safely(() => listAgreements(doc), []));
    this.questions = new YView([r.questions], () => safely(() => listQuestions(doc), []));
    this.checkins = new YView([r.checkins], () => safely(() => listCheckins(doc), []));
    this.boundaries = new YView([r.boundaries], () => safely(() => listBoundaries(doc), []));
    this.shares = new YView([r.shares], () => safely(() => listShares(doc), []));
    this.breaks = new YView([r.breaks], () => safely(() => listBreaks(doc), []));
  }

  get myself(): PartnerSnapshot | null {
    return this.partners.current.find((p) => p.id === this.me) ?? null;
  }

  get partner(): PartnerSnapshot | null {
    return this.partners.current.find((p) => p.id !== this.me) ?? null;
  }

  /** How the other partner is called on screen, before they have joined too. */
  get partnerName(): string {
    return this.partner?.displayName ?? 'your partner';
  }

  /** The same, at the start of a sentence. */
  get PartnerName(): string {
    return this.partner?.displayName ?? 'Your partner';
  }

  nameOf(partnerId: string): string {
    if (partnerId === this.me) return 'You';
    return this.partners.current.find((p) => p.id === partnerId)?.displayName ?? 'Your partner';
  }

  /**
   * Records "last seen" while the space is open and connected (throttled by the model to one
   * write per five minutes), so the partner can see when this person was last here.
   */
  startPresence(): void {
    const doc = this.connection.doc;
    const mark = () => {
      if (!this.connection.synced || document.visibilityState !== 'visible') return;
      try {
        markPartnerSeen(doc, { partnerId: this.me, at: Date.now() });
      } catch (error) {
        if (!isModelError(error)) throw error;
      }
    };
    this.#seenTimer = setInterval(mark, 60_000);
    const onVisible = () => mark();
    document.addEventListener('visibilitychange', onVisible);
    const stop = $effect.root(() => {
      $effect(() => {
        if (this.connection.synced) mark();
      });
    });
    this.#offSync = () => {
      stop();
      document.removeEventListener('visibilitychange', onVisible);
    };
  }

  /** Resolves once the connection let go of its socket and local copy (see SpaceConnection). */
  destroy(): Promise<void> {
    if (this.#seenTimer !== null) clearInterval(this.#seenTimer);
    this.#offSync?.();
    return this.connection.destroy();
  }
}

/** A damaged or half-synced item must not blank a whole screen: read it as "nothing yet". */
function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch (error) {
    if (isModelError(error)) return fallback;
    throw error;
  }
}

/**
 * Colours end up in style attributes; a hostile or buggy peer could have written anything into
 * the document, so only a plain `#rrggbb` passes.
 */
export function safeColor(color: string): string {
  return /^#[0-9a-fA-F]{6}$/.test(color) ? color : '#5b7f95';
}

const KEY = Symbol('mend-space');

export function setSpace(space: Space): void {
  setContext(KEY, space);
}

export function useSpace(): Space {
  const space = getContext<Space | undefined>(KEY);
  if (!space) throw new Error('useSpace() outside an open space');
  return space;
}
