// Loaded on demand (a dynamic import from SpaceConnection): the sealed client and its crypto stay
// out of the first page's JavaScript.
import { SEALED_SUBPROTOCOL, type SpaceId } from '@mend/protocol';
import {
  equalBytes,
  fromBase64Url,
  REMOTE,
  rotatesAfterJoin,
  safetyCode,
  SealedSession,
  SetAsideReason,
  type LocalCopy,
  type ProviderStatus,
  type SeatReveals,
  type SeatSecret,
  type SetAside,
  type SocketLike,
  type SpaceDevice,
  toBase64Url,
} from '@mend/sealed';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type * as DeviceNamesModule from '../deviceNames.js';
import type * as PrivateCheckinsModule from '../privateCheckins.js';
import type * as PlainSealingModule from './plainSealing.js';
import type * as LinkingModule from '../linking.js';
import type * as RemovalModule from '../removal.js';
import type * as RecoveryModule from '../recovery.js';
import type { EngineHooks, SyncEngine } from './syncEngine.js';

/**
 * What seals a space made before sealed spaces (plainSealing.ts), loaded through this module so
 * that the code both need (crypto, envelopes, the local store) stays in this module's chunk rather
 * than being split into one they share: a sealed space's load is not made larger by it.
 */
export function loadPlainSealing(): Promise<typeof PlainSealingModule> {
  return import('./plainSealing.js');
}

/**
 * The sealing of private check-ins (privateCheckins.ts), loaded through this module for the same
 * reason: a private check-in exists only in a sealed space, whose sync code is here already.
 */
export function loadPrivateCheckins(): Promise<typeof PrivateCheckinsModule> {
  return import('../privateCheckins.js');
}

/**
 * Device names and Today's notices of devices added or removed (deviceNames.ts), loaded through
 * this module for the same reason: they exist only in a sealed space.
 */
export function loadDeviceNames(): Promise<typeof DeviceNamesModule> {
  return import('../deviceNames.js');
}

/**
 * Linking, removing a device and the recovery kit (linking.ts, removal.ts, recovery.ts), loaded
 * through this module for the same reason: each imported @mend/sealed by itself would split the
 * sealed client into small chunks they share, each gzipped apart.
 */
export function loadLinking(): Promise<typeof LinkingModule> {
  return import('../linking.js');
}

export function loadRemoval(): Promise<typeof RemovalModule> {
  return import('../removal.js');
}

export function loadRecovery(): Promise<typeof RecoveryModule> {
  return import('../recovery.js');
}

/** Something a device of the space noticed, for the person to read (SpaceNotices). */
export interface SealedNotice {
  /**
   * `set-aside`: a change was kept out of the space (every device of both partners keeps it out
   * alike); `tamper`: the server showed something it could only show by tampering;
   * `unsent`: the server refused a change from this device (4409).
   */
  readonly kind: 'set-aside' | 'tamper' | 'unsent';
  /** For a set-aside change: why, in words a person can read (never the checker's detail). */
  readonly why: string | null;
  /** For a set-aside change: the partner whose device wrote it, if it is one of the two. */
  readonly partnerId: string | null;
}

/** Why a change was kept out, ending the sentence "A change from Sam was not applied: …". */
const plainWhy: Record<SetAsideReason, string> = {
  [SetAsideReason.forged]: 'it was changed on the way, or not written by one of your two devices.',
  [SetAsideReason.outOfOrder]: 'it arrived out of order, as if something before it was held back.',
  [SetAsideReason.stranger]: 'it came from a device that is not one of yours.',
  [SetAsideReason.refused]:
    'it tried to change something that belongs to the other person, or that cannot be changed.',
  [SetAsideReason.badSnapshot]:
    'a saved copy of your space left out or changed something this device already had.',
  [SetAsideReason.unsupported]: 'this version of Mend cannot read it.',
  [SetAsideReason.missing]: 'part of your space’s history never reached this device.',
  [SetAsideReason.removed]: 'it came from a device that was removed from your space.',
  [SetAsideReason.unopenedKey]:
    'it is locked with a new key this device could not open. Add this device again from another of your devices (Settings, then Devices).',
};

/** A device as the log lists it, with whether it was removed (what the pages read). */
export type ListedDevice = SpaceDevice & { readonly removed: boolean };

export interface SealedSyncHooks extends EngineHooks {
  /** Envelopes sealed here and not yet stored by the server, each time the count changes. */
  waiting(count: number): void;
  notice(notice: SealedNotice): void;
  /**
   * The space moved on to a version of Mend's rules this Mend does not know: syncing stopped
   * until the app is updated (a reload, online), and what is written meanwhile waits here.
   */
  needsUpdate(): void;
}

export interface SealedSyncOptions {
  spaceId: SpaceId;
  /** The copy sealedLocal.ts already read into `doc`. */
  local: LocalCopy;
  doc: Y.Doc;
  awareness: Awareness;
  serverUrl: string;
  hooks: SealedSyncHooks;
  WebSocketPolyfill?: typeof WebSocket;
}

/**
 * The sealed side of a SpaceConnection: a SealedSession (IndexedDB copy, verified log, outbox,
 * socket) whose events are turned into what the screens show.
 */
export class SealedSync implements SyncEngine {
  readonly #session: SealedSession;
  readonly #doc: Y.Doc;
  /** Not connected, or `disconnect` was asked for: a close that follows is not news. */
  #stopped = true;
  #synced = false;
  /** This device has its name in the document (or is writing it): see `#arrive`. */
  #named = false;
  /** The new key after the partner joined is being written, or was (`#rekey`). */
  #rekeying = false;

  private constructor(session: SealedSession, doc: Y.Doc, hooks: SealedSyncHooks) {
    this.#session = session;
    this.#doc = doc;
    session.on('status', (status) => {
      this.#synced = status.kind === 'synced';
      this.#status(status, hooks);
      this.#arrive();
      this.#rekey();
    });
    session.on('waiting', (count) => {
      hooks.waiting(count);
      // The seat is written once synced (SpaceShell), and sent: the device can name itself now.
      this.#arrive();
      // Its member statement is in the log once acknowledged.
      this.#rekey();
    });
    session.on('saved', (saved) => hooks.saved(saved));
    session.on('storage-problem', (error) =>
      hooks.storageProblem(error.reason === 'quota' ? 'quota' : 'unavailable'),
    );
    session.on('set-aside', (entry) => hooks.notice(this.#noticeFor(entry)));
    session.on('tamper', (detail) => {
      // The checker's words are for whoever looks into it; the person gets plain ones.
      console.warn('Mend: the server showed something it should not', detail);
      hooks.notice({ kind: 'tamper', why: null, partnerId: null });
    });
    session.on('paused', (rules) => {
      console.warn(
        `Mend: this space follows version ${rules} of the rules; this Mend knows older ones`,
      );
      hooks.needsUpdate();
    });
    session.on('reveal-problem', (error) =>
      console.warn('Mend could not publish an answer’s key on this device', error),
    );
    for (const entry of session.setAside()) hooks.notice(this.#noticeFor(entry));
    hooks.waiting(session.waiting);
  }

  /** Rejects with a LocalStoreError when this device holds no usable copy of the space's keys. */
  static async open(options: SealedSyncOptions): Promise<SealedSync> {
    const url = `${options.serverUrl}/${encodeURIComponent(options.spaceId)}`;
    const session = await SealedSession.open({
      spaceId: options.spaceId,
      local: options.local,
      doc: options.doc,
      awareness: options.awareness,
      // The browser sends the space's HttpOnly cookie with the upgrade (docs/api.md).
      openSocket: () => {
        const Socket = options.WebSocketPolyfill ?? WebSocket;
        return new Socket(url, [SEALED_SUBPROTOCOL]) as unknown as SocketLike;
      },
      // The SpaceConnection decides when to try again (hooks.closed), as for a plaintext space.
      reconnectDelay: () => null,
      // Connected by the SpaceConnection when it is time (`connect`).
      connect: false,
    });
    return new SealedSync(session, options.doc, options.hooks);
  }

  /** The open session: what linking another device of this partner works through (devices page). */
  get session(): SealedSession {
    return this.#session;
  }

  /** The space's devices, as the log admitted them (each partner's, and which device linked which). */
  devices(): readonly ListedDevice[] {
    return this.#session.replica.devices().map((d) => ({ ...d, removed: d.removedAt !== null }));
  }

  /** This device's signing key, base64url, as `devices()` names it. */
  get deviceKey(): string {
    return toBase64Url(this.#session.membership.identity.signing.publicKey);
  }

  /** Whether this device made the space (it writes the space's first content). */
  get isCreator(): boolean {
    const m = this.#session.membership;
    return equalBytes(m.creator, m.identity.signing.publicKey);
  }

  /** Whether a document change came from the server (or the stored copy), not from this person. */
  isRemote(origin: unknown): boolean {
    return origin === REMOTE;
  }

  get waiting(): number {
    return this.#session.waiting;
  }

  /** This partner's seat in the space's reveals; the seat secret stays inside it. */
  get reveals(): SeatReveals {
    return this.#session.reveals;
  }

  /** The seat secret, which seals this partner's private check-ins (privateCheckins.ts). */
  get seatSecret(): SeatSecret {
    return this.#session.membership.seatSecret;
  }

  /**
   * The code both partners can compare (docs/protocol.md, "Safety code"), once the space holds a
   * device of each: from each seat's first device. Null before the partner has joined.
   */
  safetyCode(): string | null {
    const { partnerId, spaceId } = this.#session.membership;
    // Each seat's first device (the one it joined with): every device of both partners shows the
    // same code, and a device linked later is vouched for by a link its seat signed in the log.
    const first = (mine: boolean) =>
      this.#session.replica
        .devices()
        .find((d) => d.linkedBy === null && (d.partnerId === partnerId) === mine);
    const own = first(true);
    const other = first(false);
    if (!own || !other) return null;
    return safetyCode(
      spaceId,
      fromBase64Url(own.signingKey, 32),
      fromBase64Url(other.signingKey, 32),
    );
  }

  /**
   * Once synced as a member, with its seat in the document: the device names itself, and notes
   * the devices there now, which Today will not announce (deviceNames.ts). Here rather than in the
   * first page's code, which it would only make larger.
   */
  #arrive(): void {
    if (this.#named || !this.#synced) return;
    this.#named = true;
    const { partnerId, spaceId } = this.#session.membership;
    void loadDeviceNames().then((m) => {
      this.#named = m.deviceArrived({
        spaceId,
        me: partnerId,
        connection: {
          doc: this.#doc,
          devices: { list: this.devices(), mine: this.deviceKey },
        },
      });
    });
  }

  /**
   * On the joining partner's first device, once synced and in: a new key for both partners'
   * devices, so the invite link (which opened the first key) opens nothing written from now on
   * (docs/protocol.md, "A new key once the partner has joined"). The code that writes it is
   * loaded only then. Failing (the socket closed, say), it is tried again on the next sync. Not
   * while envelopes wait for their ack: a statement an earlier page sent and this one resends
   * would otherwise race a second one for the same epoch.
   */
  #rekey(): void {
    if (this.#rekeying || !this.#synced || this.#session.waiting > 0) return;
    if (!rotatesAfterJoin(this.#session)) return;
    this.#rekeying = true;
    void loadRemoval()
      .then((m) => m.rotateAfterJoin(this.#session))
      .catch((error: unknown) => {
        console.warn('Mend could not give the space a new key after the partner joined', error);
        this.#rekeying = false;
      });
  }

  connect(): void {
    this.#stopped = false;
    this.#session.connect();
  }

  disconnect(): void {
    this.#stopped = true;
    this.#session.disconnect();
  }

  /** Changes still waiting for their signature go into the outbox's store now. */
  settle(): void {
    void this.#session.flush();
  }

  #status(status: ProviderStatus, hooks: SealedSyncHooks): void {
    if (status.kind === 'syncing') hooks.opened();
    hooks.synced(status.kind === 'synced');
    if (status.kind === 'disconnected' && !this.#stopped) hooks.closed(status.code);
  }

  destroy(): Promise<void> {
    return this.#session.destroy().catch(() => undefined);
  }

  #noticeFor(entry: SetAside): SealedNotice {
    const author =
      entry.author === null ? undefined : this.#session.replica.members.get(entry.author);
    console.warn('Mend: a change was kept out of the space', entry.reason, entry.detail);
    return { kind: 'set-aside', why: plainWhy[entry.reason], partnerId: author?.partnerId ?? null };
  }
}
