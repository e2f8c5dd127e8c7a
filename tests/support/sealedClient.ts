/**
 * The sealed sync client (`@mend/sealed`) against the real server, as a device runs it: create
 * or join over HTTP with `createSealedSpace` / `joinSealedSpace`, then open "pages" (one page
 * load: a Y.Doc, its SealedReplica, an Awareness and a SealedProvider over `ws` with the Bearer
 * token and `mend-sealed-1`). A device's keys, token and outbox outlive its pages, as they do in
 * IndexedDB; a reload is a new page on a document loaded from the old one's state.
 */
import { addPartner, initSpace, type PartnerId } from '@mend/model';
import {
  decodeServerMessage,
  encodeDeviceMessage,
  SEALED_SUBPROTOCOL,
  SealedMessage,
} from '@mend/protocol';
import {
  createSealedSpace,
  fetchCandidateKeys,
  joinSealedSpace,
  Outbox,
  SealedProvider,
  SealedReplica,
  type OutboxEntry,
  type ProviderStatus,
  type Receipt,
  type RulesBook,
  type SealedMembership,
  type SetAside,
  type SocketLike,
} from '@mend/sealed';
import WebSocket from 'ws';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { openRawSocket } from './clients.js';
import { withTimeout, type MendServer } from './server.js';

type ServerAddress = Pick<MendServer, 'wsUrl' | 'url'>;

/** A device: what it keeps between page loads. */
export interface SealedDevice {
  readonly name: string;
  readonly membership: SealedMembership;
  readonly outbox: Outbox;
  /** Every envelope this device sealed, in order (what went into its outbox). */
  readonly sealed: OutboxEntry[];
  /** The device's network: tests take it down and bring it back. */
  readonly network: Network;
}

/**
 * Whether a device can reach the server. Offline, every connection attempt fails the way a
 * dropped network does (the socket errors and closes with 1006); going offline cuts the sockets
 * that are open.
 */
export class Network {
  #online = true;
  readonly #open = new Set<WebSocket>();

  get online(): boolean {
    return this.#online;
  }

  down(): void {
    this.#online = false;
    for (const socket of this.#open) socket.terminate();
  }

  up(): void {
    this.#online = true;
  }

  /** A socket to the space's sealed endpoint, or (offline) to a port nobody listens on. */
  open(server: ServerAddress, membership: SealedMembership): SocketLike {
    const url = this.#online ? `${server.wsUrl}/sync/${membership.spaceId}` : DEAD_ADDRESS;
    const socket = new WebSocket(url, [SEALED_SUBPROTOCOL], {
      headers: { Authorization: `Bearer ${membership.token}` },
    });
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    // `ws` implements the browser WebSocket's event-handler API; only its declarations differ.
    return socket as unknown as SocketLike;
  }
}

/** Port 1 on loopback: refused at once, like a network that is down. */
const DEAD_ADDRESS = 'ws://127.0.0.1:1/';

export function newDevice(name: string, membership: SealedMembership): SealedDevice {
  const sealed: OutboxEntry[] = [];
  const outbox = new Outbox([], {
    put: (entry) => sealed.push(entry),
    drop: () => {},
  });
  return { name, membership, outbox, sealed, network: new Network() };
}

export interface PageOptions {
  /** The document to start from (a reload passes one loaded from the old page's state). */
  readonly doc?: Y.Doc;
  /** Milliseconds between reconnects (the provider's default backs off to 30 s). */
  readonly reconnectMs?: number;
  /** The provider's snapshot threshold (its default is 300). */
  readonly snapshotEvery?: number;
  /** The versions of the model's rules this page's Mend knows (this build's unless given). */
  readonly rules?: RulesBook;
}

/** One page load of a device, with everything its provider reported. */
export class SealedPage {
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly replica: SealedReplica;
  readonly provider: SealedProvider;
  readonly receipts: { readonly seq: number; readonly receipt: Receipt }[] = [];
  readonly setAside: SetAside[] = [];
  readonly tampers: string[] = [];
  readonly statuses: ProviderStatus[] = [];
  /** Each time the provider stopped at a version of the rules it does not know. */
  readonly paused: number[] = [];
  /** The server's answers to the snapshots this page wrote. */
  readonly snapshots: { readonly coversSeq: number; readonly stored: boolean }[] = [];

  constructor(
    readonly server: ServerAddress,
    readonly device: SealedDevice,
    options: PageOptions = {},
  ) {
    const { membership } = device;
    this.doc = options.doc ?? new Y.Doc();
    this.awareness = new Awareness(this.doc);
    this.replica = new SealedReplica({
      doc: this.doc,
      keyring: membership.keyring,
      creator: membership.creator,
      identity: membership.identity,
      ...(options.rules ? { rules: options.rules } : {}),
    });
    this.provider = new SealedProvider({
      replica: this.replica,
      awareness: this.awareness,
      identity: membership.identity,
      keyring: membership.keyring,
      outbox: device.outbox,
      partnerId: membership.partnerId,
      openSocket: () => device.network.open(server, membership),
      reconnectDelay: () => options.reconnectMs ?? 50,
      candidateKeys: () => fetchCandidateKeys(membership, { baseUrl: server.url }),
      ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }),
    });
    this.provider.on('receipt', (receipt, seq) => this.receipts.push({ seq, receipt }));
    this.provider.on('set-aside', (entry) => this.setAside.push(entry));
    this.provider.on('tamper', (detail) => this.tampers.push(detail));
    this.provider.on('paused', (rules) => this.paused.push(rules));
    this.provider.on('status', (status) => this.statuses.push(status));
    this.provider.on('snapshot', (coversSeq, stored) => this.snapshots.push({ coversSeq, stored }));
  }

  get partnerId(): PartnerId {
    return this.device.membership.partnerId;
  }

  /**
   * Resolves once `predicate()` holds, checking now and after everything the provider reports
   * and every change to the document.
   */
  until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return untilOn([this], predicate, `${this.device.name}: ${what}`, timeoutMs);
  }

  /** Calls `check` after everything the provider reports and every change; returns the undo. */
  watch(check: () => void): () => void {
    const events = [
      'receipt',
      'set-aside',
      'tamper',
      'paused',
      'status',
      'waiting',
      'snapshot',
    ] as const;
    for (const event of events) this.provider.on(event, check);
    this.doc.on('update', check);
    this.awareness.on('change', check);
    return () => {
      for (const event of events) this.provider.off(event, check);
      this.doc.off('update', check);
      this.awareness.off('change', check);
    };
  }

  /** Synced, and everything this device sealed is stored and acknowledged. */
  settled(what = 'its outbox to be acknowledged'): Promise<void> {
    return this.until(() => this.provider.synced && this.provider.waiting === 0, what);
  }

  /** The seq of every receipt that was not `applied`/`member`/`snapshot`. */
  get problems(): readonly SetAside[] {
    return this.receipts.flatMap(({ receipt }) =>
      receipt.kind === 'set-aside' ? [receipt.entry] : [],
    );
  }

  /** Where the page stands, for failure messages. */
  describe(): string {
    return JSON.stringify({
      status: this.provider.status,
      since: this.replica.since,
      waiting: this.provider.waiting,
      statuses: this.statuses.map((s) => ('code' in s ? `${s.kind} ${s.code}` : s.kind)),
      problems: this.problems,
      tampers: this.tampers,
    });
  }

  close(): void {
    this.provider.destroy();
    this.awareness.destroy();
  }
}

/**
 * Resolves once `predicate()` holds, checking now and after anything happens on any of `pages`:
 * a condition on two pages must be checked when either moves (waiting on one page alone for
 * its seq to equal the other's times out when that one is ahead and the other catches up).
 */
export function untilOn(
  pages: readonly SealedPage[],
  predicate: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  if (predicate()) return Promise.resolve();
  const undo: (() => void)[] = [];
  return withTimeout(
    new Promise<void>((resolve) => {
      const check = () => {
        if (predicate()) resolve();
      };
      for (const page of pages) undo.push(page.watch(check));
    }),
    timeoutMs,
    `timed out waiting for ${what}`,
  )
    .catch((error: unknown) => {
      const where = pages.map((page) => `${page.device.name}: ${page.describe()}`).join('; ');
      throw new Error(`${String(error)}; the pages: ${where}`);
    })
    .finally(() => {
      for (const stop of undo) stop();
    });
}

/** Resolves once every page has taken in the same prefix of the log. */
export function sameSeq(pages: readonly SealedPage[], timeoutMs = 10_000): Promise<void> {
  const names = pages.map((page) => page.device.name).join(', ');
  return untilOn(
    pages,
    () => pages.every((page) => page.replica.since === pages[0]!.replica.since),
    `${names} to hold the same seq`,
    timeoutMs,
  );
}

/** A new document holding `doc`'s state: what a reload loads from the device's store. */
export function reloadedDoc(doc: Y.Doc): Y.Doc {
  const fresh = new Y.Doc();
  Y.applyUpdate(fresh, Y.encodeStateAsUpdate(doc));
  return fresh;
}

export interface SealedCoupleOf {
  readonly spaceId: string;
  readonly inviteSecret: string;
  readonly alex: SealedDevice;
  readonly sam: SealedDevice;
  readonly alexPage: SealedPage;
  readonly samPage: SealedPage;
}

export interface CoupleOptions {
  readonly names?: { readonly space: string; readonly alex: string; readonly sam: string };
  /** Another node sharing storage: Sam joins and syncs through it. */
  readonly joinThrough?: ServerAddress;
  /** Where the pages opened go, for closing them after the test. */
  readonly pages?: SealedPage[];
  /**
   * Alex's network is down from before Sam joins, and stays down: resolves once Sam's page holds
   * both partners (Alex's page catches up when the test brings its network back).
   */
  readonly alexAwayDuringJoin?: boolean;
}

/**
 * Alex creates a sealed space and writes it (its first sync announces the device, then the
 * space and Alex's seat go in); Sam joins with the invite secret and writes his seat. Resolves
 * once each page holds both partners.
 */
export async function sealedCouple(
  server: ServerAddress,
  options: CoupleOptions = {},
): Promise<SealedCoupleOf> {
  const names = options.names ?? { space: 'Our space', alex: 'Alex', sam: 'Sam' };
  const pages = options.pages ?? [];
  const samServer = options.joinThrough ?? server;
  const created = await createSealedSpace({ baseUrl: server.url });
  const alex = newDevice('Alex', created);
  const alexPage = track(pages, new SealedPage(server, alex));
  await alexPage.until(() => alexPage.provider.synced, 'the first sync');
  const now = Date.now();
  initSpace(alexPage.doc, { name: names.space, createdAt: now });
  addPartner(alexPage.doc, {
    id: created.partnerId,
    displayName: names.alex,
    joinedAt: now,
    color: '#aa3355',
  });
  await alexPage.settled();
  if (options.alexAwayDuringJoin) {
    alex.network.down();
    await alexPage.until(() => alexPage.provider.status.kind === 'disconnected', 'Alex away');
  }

  const joined = await joinSealedSpace(created.spaceId, created.inviteSecret, {
    baseUrl: samServer.url,
  });
  const sam = newDevice('Sam', joined);
  const samPage = track(pages, new SealedPage(samServer, sam));
  await samPage.until(() => samPage.provider.synced, 'the first sync');
  addPartner(samPage.doc, {
    id: joined.partnerId,
    displayName: names.sam,
    joinedAt: Date.now(),
    color: '#3355aa',
  });
  await samPage.settled();
  if (!options.alexAwayDuringJoin) await sameSeq([alexPage, samPage]);
  return {
    spaceId: created.spaceId,
    inviteSecret: created.inviteSecret,
    alex,
    sam,
    alexPage,
    samPage,
  };
}

function track(pages: SealedPage[], page: SealedPage): SealedPage {
  pages.push(page);
  return page;
}

/**
 * Sends one envelope sealed by hand over a socket of `device` (its token), as a device that
 * does not run Mend's client would; resolves with the `ack`'s seq, or the close code if the
 * server refused it.
 */
export async function submitByHand(
  server: ServerAddress,
  device: SealedDevice,
  envelope: Uint8Array,
  stream: number,
): Promise<{ seq: number } | { closed: number }> {
  const socket = await openRawSocket(server, device.membership.spaceId, {
    token: device.membership.token,
    protocols: [SEALED_SUBPROTOCOL],
  });
  try {
    socket.send(encodeDeviceMessage({ type: SealedMessage.hello, since: 0, stream }));
    socket.send(encodeDeviceMessage({ type: SealedMessage.submit, envelope }));
    const closed = socket.waitForClose().then((info) => ({ closed: info.code }));
    const acked = socket
      .nextMessage((bytes) => decodeServerMessage(bytes).type === SealedMessage.ack, 'the ack')
      .then((bytes) => {
        const ack = decodeServerMessage(bytes);
        return { seq: ack.type === SealedMessage.ack ? ack.seq : -1 };
      });
    return await Promise.race([acked, closed]);
  } finally {
    socket.close();
  }
}
