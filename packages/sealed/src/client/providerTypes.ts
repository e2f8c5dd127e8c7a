import type { PartnerId } from '@mend/model';
import type { Awareness } from 'y-protocols/awareness';
import type { DeviceIdentity } from '../identity.js';
import type { SpaceKeyring } from '../SpaceKeyring.js';
import type { HeldSource } from './heldChanges.js';
import type { Outbox } from './Outbox.js';
import type { ResendPace } from './ResendPacer.js';
import type { CandidateKey, Receipt, SealedReplica, SetAside } from './SealedReplica.js';

/** The part of a WebSocket the provider uses: the browser's and `ws`'s both fit. */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type ProviderStatus =
  | { kind: 'connecting' }
  | { kind: 'syncing' }
  | { kind: 'synced' }
  | { kind: 'disconnected'; code: number; reason: string };

export interface ProviderEvents {
  status: (status: ProviderStatus) => void;
  /** An envelope was kept aside; both partners should be told. */
  'set-aside': (entry: SetAside) => void;
  /**
   * The server showed something it could only show by tampering: it went back on what it served,
   * or left out positions of the log it says it holds. `detail` says which, in plain words.
   */
  tamper: (detail: string) => void;
  receipt: (receipt: Receipt, seq: number) => void;
  /**
   * The log moved on to version `rules` of the model's rules, which this Mend does not know: it
   * takes nothing more in and holds its socket closed until a newer Mend opens the space (what
   * is written meanwhile waits on the device). Also on every `connect()` while so.
   */
  paused: (rules: number) => void;
  /**
   * How many changes wait to reach the server, each time it changes: envelopes not acknowledged
   * yet, and changes held while not connected and not sealed yet.
   */
  waiting: (count: number) => void;
  /** The server answered a snapshot this device wrote (refused: another device was first). */
  snapshot: (coversSeq: number, stored: boolean) => void;
  /**
   * The plaintext copy given as `carry` was carried over: `sealed` is true when a carried
   * envelope went into the outbox (the outbox storage's `put` stored it), false when the log
   * already held all of it. Once per provider at most.
   */
  carried: (sealed: boolean) => void;
}

export interface ProviderOptions {
  replica: SealedReplica;
  awareness: Awareness | null;
  identity: DeviceIdentity;
  keyring: SpaceKeyring;
  outbox: Outbox;
  /** Opens a socket to `/sync/<spaceId>` with the `mend-sealed-1` subprotocol and credentials. */
  openSocket: () => SocketLike;
  /** This device's seat: announced once, when the log does not yet name this device. */
  partnerId: PartnerId;
  /**
   * Milliseconds before the next attempt; `attempt` counts from 1 (and again after `connect()`).
   * Return null to stop until `connect()` is called.
   */
  reconnectDelay?: (attempt: number, code: number) => number | null;
  /** Whether to open a socket at once (the default); false waits for `connect()`. */
  connect?: boolean;
  /** How the outbox goes out again on connect; by default 300 at once, then 80 a second. */
  resendPace?: ResendPace;
  /** Envelopes logged after the last snapshot before this device writes one; 300 by default. */
  snapshotEvery?: number;
  /**
   * Changes already in the document, made on this device before any provider was attached (a
   * screen shown from the local copy while this code loaded), all written with the document's
   * current client id: sealed first, as that id's stream.
   */
  unsent?: Uint8Array | null;
  /**
   * This device's plaintext copy of the space from before it was sealed (a Yjs state), while
   * what of it the log lacks has not been carried over (docs/protocol.md, "Converting a
   * plaintext space"). The first time the provider is synced with this device's member statement
   * in the log or the outbox, that difference (`replica.notInLog`) is sealed once as a carried
   * envelope, after the statement; `carried` says whether there was any.
   */
  carry?: Uint8Array | null;
  /**
   * Where changes written while the provider is not connected wait to be sealed, into one
   * envelope per stream (or a few, `heldPerEnvelope`) once it is (docs/protocol.md, "Changes made
   * offline"): a SealedSession's store, or `memoryHeld()` for a page whose outbox is in memory
   * too. Must be as durable as the outbox. None (the default) seals every change at once.
   */
  held?: HeldSource | null;
  /** Bytes of held changes (their updates' sizes added) sealed into one envelope at most; 1 MiB. */
  heldPerEnvelope?: number;
  /**
   * The candidate keys for a snapshot sealed under an epoch this device does not hold: the
   * server's epoch boxes for this device, opened (`fetchCandidateKeys`; docs/protocol.md,
   * "Catching up across a key change"). Asked once per connection when such a snapshot is next;
   * the replica takes a key only through the statement the snapshot carries. None (the
   * default), or none that opens it: the snapshot is set aside as an unopened key and the
   * provider waits before it until the next connection.
   */
  candidateKeys?: (() => Promise<readonly CandidateKey[]>) | null;
}
