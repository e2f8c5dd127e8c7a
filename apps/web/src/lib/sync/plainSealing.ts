// Loaded on demand by a plaintext space's SpaceConnection once it has synced: the sealed client's
// crypto stays out of the first load, and out of every sealed space's.
import { listPartners, MAX_PARTNERS, offerSealingKeys, readSealingKeys } from '@mend/model';
import type { PartnerId, SpaceId } from '@mend/protocol';
import {
  adoptPlaintextCopy,
  carryMore,
  conversionPlan,
  loadOrMakeSealingIdentity,
  receiveSealedKey,
  sealingOffer,
  sealPlaintextSpace,
  type DeviceIdentity,
  type LoggedEnvelope,
  type SealedMembership,
} from '@mend/sealed';
import * as Y from 'yjs';

/** Where a space made before sealed spaces stands on its way to being sealed. */
export type SealingState =
  /** Waiting for these partners' devices to offer their keys (they have not opened Mend since). */
  | { readonly kind: 'waiting'; readonly for: readonly PartnerId[] }
  /** Sealing it, or moving this device's copy over. */
  | { readonly kind: 'moving' }
  /** This device's copy is sealed now; the page opens it as a sealed space. */
  | { readonly kind: 'done'; readonly inviteSecret: string | null }
  /** This device cannot take part: its storage refused the keys, or they are gone. */
  | { readonly kind: 'failed' };

export interface PlainSealingOptions {
  readonly spaceId: SpaceId;
  readonly partnerId: PartnerId;
  readonly doc: Y.Doc;
  /** Whether a document change came from the server: the partner's offer arrives that way. */
  readonly isRemote: (origin: unknown) => boolean;
  /** Each change of state, for the screens. */
  readonly state: (state: SealingState) => void;
}

/**
 * Seals a space made before sealed spaces from this device (docs/protocol.md, "Converting a
 * plaintext space"): offers this device's keys through the document, seals the space once every
 * partner has offered theirs, or, when the other device sealed it first, fetches this device's
 * key. Either way the device's copy (with anything written offline) moves into the sealed store,
 * and what the sealed log lacks of it is sent as this device's carried envelope once it syncs.
 * One step at a time: a check asked for while one runs waits for it.
 */
export class PlainSealing {
  readonly #o: PlainSealingOptions;
  #running: Promise<void> = Promise.resolve();
  #identity: Promise<DeviceIdentity> | null = null;
  #done = false;
  readonly #onUpdate: (update: Uint8Array, origin: unknown) => void;
  /** The partners and their offers at the last look: a change of anything else is not news. */
  #offers = '';

  constructor(options: PlainSealingOptions) {
    this.#o = options;
    // The partner's offer (or seat) arrives as a change from the server; the partner's typing
    // does too, and must not send the whole document to the server again and again.
    this.#onUpdate = (_update: Uint8Array, origin: unknown) => {
      if (!options.isRemote(origin)) return;
      const offers = JSON.stringify([
        listPartners(options.doc).map((p) => p.id),
        [...readSealingKeys(options.doc)],
      ]);
      if (offers === this.#offers) return;
      this.#offers = offers;
      this.check();
    };
    options.doc.on('update', this.#onUpdate);
  }

  /** Offers this device's keys if the document lacks them, and seals once every partner has. */
  check(): void {
    this.#queue(() => this.#check());
  }

  /** The server says the space is sealed (4410, or its answer to GET /sync/:spaceId). */
  moveOver(): void {
    this.#queue(() => this.#receive());
  }

  stop(): void {
    this.#done = true;
    this.#o.doc.off('update', this.#onUpdate);
  }

  #queue(step: () => Promise<void>): void {
    this.#running = this.#running.then(async () => {
      if (this.#done) return;
      try {
        await step();
      } catch (error) {
        // A network failure or a refusal: the next sync or close asks again.
        console.warn('Mend could not seal this space yet', error);
      }
    });
  }

  #identityNow(): Promise<DeviceIdentity> {
    this.#identity ??= loadOrMakeSealingIdentity(this.#o.spaceId);
    return this.#identity;
  }

  async #check(): Promise<void> {
    const { doc, partnerId, spaceId } = this.#o;
    const identity = await this.#identityNow();
    const partners = listPartners(doc).map((p) => p.id as string as PartnerId);
    if (!partners.includes(partnerId)) return; // this device's seat has not arrived yet
    // A plaintext space's partner has one browser (its cookie), so an offer of this partner's
    // that is not this device's keys is an older one this browser lost: offered again.
    offerSealingKeys(doc, { partnerId, ...sealingOffer(identity) });
    const plan = conversionPlan(doc, partners, { partnerId, identity });
    if (plan.kind === 'wait') {
      this.#o.state({ kind: 'waiting', for: plan.missing });
      return;
    }
    if (plan.kind === 'not-mine') return;
    this.#o.state({ kind: 'moving' });
    const sealed = await sealPlaintextSpace({
      spaceId,
      partnerId,
      identity,
      doc,
      partners,
      withInvite: partners.length < MAX_PARTNERS,
    });
    if (sealed.kind === 'sealed-by-other') {
      await this.#receive();
      return;
    }
    if (sealed.kind === 'not-ready') return;
    await this.#adopt(sealed.membership, sealed.log);
    this.#finish(sealed.inviteSecret);
  }

  async #receive(): Promise<void> {
    const { spaceId, partnerId } = this.#o;
    this.#o.state({ kind: 'moving' });
    const identity = await this.#identityNow();
    const membership = await receiveSealedKey({ spaceId, partnerId, identity });
    if (membership === null) {
      // Not sealed after all (an old close code, say): carry on as before.
      await this.#check();
      return;
    }
    await this.#adopt(membership, null);
    this.#finish(null);
  }

  /**
   * The document, with anything written offline, becomes the sealed copy; what the sealed log
   * lacks of it goes out as this device's carried envelope once the sealed space syncs. The
   * plaintext database goes once the old sync has let go of it (the delete waits for that).
   */
  async #adopt(membership: SealedMembership, log: readonly LoggedEnvelope[] | null): Promise<void> {
    const { doc, spaceId } = this.#o;
    // The person may write while the copy is being stored (it reads the document at once, then
    // waits for IndexedDB): those changes follow it, until none came in meanwhile.
    const meanwhile: Uint8Array[] = [];
    const collect = (update: Uint8Array, origin: unknown) => {
      if (!this.#o.isRemote(origin)) meanwhile.push(update);
    };
    doc.on('update', collect);
    try {
      await adoptPlaintextCopy({ membership, doc, log });
      while (meanwhile.length > 0) await carryMore(spaceId, Y.mergeUpdates(meanwhile.splice(0)));
    } finally {
      doc.off('update', collect);
    }
    indexedDB.deleteDatabase(`mend-space-${spaceId}`);
  }

  #finish(inviteSecret: string | null): void {
    this.stop();
    this.#o.state({ kind: 'done', inviteSecret });
  }
}
