import { fromBase64Url, toBase64Url } from '../bytes.js';
import { abortable as abortableWith } from './abortable.js';
import { admission } from './admission.js';
import { rotatesAfterJoin } from './afterJoin.js';
import { sealEpochBox } from '../epochBox.js';
import { encodeEpochPayload, encodeRulesPayload } from '../payloads.js';
import { newSpaceKey } from '../SpaceKeyring.js';
import { COOKIE_TOKEN } from './conversion.js';
import { leaveEpochBoxes } from './epochBoxes.js';
import { again, del, SealedApiError, type ApiOptions } from './http.js';
import type { SealedSession } from './SealedSession.js';
import { LEAVING_RULES } from './rulesBook.js';
import { KeysNotStoredError } from './SealedProvider.js';

/*
 * Removing a device, and moving the space to a new epoch (docs/protocol.md, "Removing a device
 * and new epochs"), on the removing device: the server ends the device's access
 * (`DELETE …/devices/:signingKey`), then this device writes an epoch statement with a fresh
 * space key boxed to every device that stays, keeps the key, and writes a snapshot under the new
 * epoch. `rotateKeys` is the same without a removal; `leaveWithNewKey` removes this device itself.
 */

/** Why a removal stopped, in words a person can act on. */
export const RemovalErrorReason = {
  /** This device is not (or no longer) in the space: it cannot change its keys. */
  notMember: 'not-member',
  /** The device is not in the space as this device's log lists it, or the server knows no such device. */
  unknownDevice: 'unknown-device',
  /** A device cannot remove itself (another device of the space does it). */
  self: 'self',
  /** Other devices kept changing the keys first; every try was set aside. */
  contended: 'contended',
  /** The caller gave up (its AbortSignal). */
  cancelled: 'cancelled',
} as const;
export type RemovalErrorReason = (typeof RemovalErrorReason)[keyof typeof RemovalErrorReason];

const messages: Record<RemovalErrorReason, string> = {
  'not-member': 'This device is not fully set up in the space, or was removed from it.',
  'unknown-device': 'That device is not in this space (it may have been removed already).',
  self: 'A device cannot remove itself. Remove it from another of your devices.',
  contended: 'The space’s keys kept changing on another device. Try again in a moment.',
  cancelled: 'Removing the device was stopped.',
};

export class RemovalError extends Error {
  override readonly name = 'RemovalError';
  constructor(readonly reason: RemovalErrorReason) {
    super(messages[reason]);
  }
}

/**
 * The open space on this device: its membership, provider (to write) and replica (to judge);
 * `leaveBoxesLater`, when there, takes epoch boxes the server did not get, to send again.
 */
export type RemovalSession = Pick<
  SealedSession,
  'membership' | 'provider' | 'replica' | 'keepKeys'
> &
  Partial<Pick<SealedSession, 'leaveBoxesLater'>>;

export interface RemovalOptions extends ApiOptions {
  /** Stops waiting for the server (offline, say); what was written stays written. */
  readonly signal?: AbortSignal;
  /** How many times an epoch statement set aside by a race is written again; 5 by default. */
  readonly tries?: number;
}

export interface NewEpoch {
  /** The epoch this device's statement introduced, or null when another's removed the device first. */
  readonly epoch: number | null;
  /** Where the statement was stored, or null as above. */
  readonly seq: number | null;
  /** The seq the snapshot written after it covers (null: none could be written now). */
  readonly snapshotCovers: number | null;
  /** Whether the server stored that snapshot. */
  readonly snapshotStored: boolean;
  /**
   * Whether the server took the new key's boxes for the devices that stay (`PUT …/epoch-boxes`),
   * so a device that was away can catch up across the change; null when no statement was
   * written here. False: the removal stands all the same; the session sends them again on its
   * next sync (`SealedSession.leaveBoxesLater`) while it stays open.
   */
  readonly boxesLeft: boolean | null;
}

/**
 * Removes `device` (its signing key) from the space: `DELETE …/devices/:signingKey` (a lost
 * answer sent again; 204 both times), then an epoch statement removing it with a new key boxed
 * to every device that stays, waited for until the server stored it; set aside (another epoch
 * statement or a new link came first), it is written again on top of the new state while the
 * device is still in. Then the key is kept (SealedSession.keepKeys) and a snapshot sealed
 * under the new epoch covering the statement is written. A device another statement removed
 * meanwhile is left as that one left it. Rejects with a RemovalError, a KeysNotStoredError or a
 * SealedApiError.
 */
export async function removeDevice(
  session: RemovalSession,
  device: Uint8Array,
  options: RemovalOptions = {},
): Promise<NewEpoch> {
  const { replica, membership } = session;
  const key = toBase64Url(device);
  if (key === toBase64Url(membership.identity.signing.publicKey)) {
    throw new RemovalError(RemovalErrorReason.self);
  }
  checkCurrent(session);
  const { standing } = replica;
  if (standing.removedAt(key) === null && !standing.isCurrent(key) && !standing.isLinkedOnly(key)) {
    throw new RemovalError(RemovalErrorReason.unknownDevice);
  }
  const { spaceId } = membership;
  const token = membership.token === COOKIE_TOKEN ? null : membership.token;
  const path =
    token === null
      ? `/sync/${encodeURIComponent(spaceId)}/devices/${key}`
      : `/api/sealed-spaces/${encodeURIComponent(spaceId)}/devices/${key}`;
  try {
    await abortable(
      again(options, () => del(options, path, token)),
      options.signal,
    );
  } catch (error) {
    if (error instanceof SealedApiError && error.status === 404) {
      throw new RemovalError(RemovalErrorReason.unknownDevice);
    }
    throw error;
  }
  return newEpoch(session, [device], options);
}

/** A new epoch without removing anyone (r = 0): a fresh key for every device in the space. */
export function rotateKeys(
  session: RemovalSession,
  options: RemovalOptions = {},
): Promise<NewEpoch> {
  checkCurrent(session);
  return newEpoch(session, [], options);
}

/**
 * Once the partner has joined, on the joining device: a new key for both partners' devices
 * (`rotateKeys`), so that the invite link, which opened the first key's welcome box and may sit
 * in a chat's history for years, opens nothing written from then on. Null when it is not this
 * device's to do (`rotatesAfterJoin`).
 */
export function rotateAfterJoin(
  session: RemovalSession,
  options: RemovalOptions = {},
): Promise<NewEpoch> | null {
  return rotatesAfterJoin(session) ? rotateKeys(session, options) : null;
}

/**
 * Before this device leaves the space ("Remove Mend from this device", docs/protocol.md, "Leaving
 * a space"): an epoch statement that removes this device itself, with a fresh key boxed to every
 * device that stays, so that a copy of this device's keys taken earlier opens nothing written
 * after it. The key stays in this call's memory: it is not kept and no snapshot is sealed with it
 * (the log sets aside whatever a removed device writes). Resolves with `epoch: null` when no
 * other device is in the space, or when this device is out already. An earlier call whose boxes
 * the server did not take sends them again. Rejects as `removeDevice` does, and with the
 * SealedApiError of the boxes when the server does not take them: they are not left for later.
 */
export async function leaveWithNewKey(
  session: RemovalSession,
  options: RemovalOptions = {},
): Promise<NewEpoch> {
  const { replica, membership } = session;
  const self = membership.identity.signing.publicKey;
  const key = toBase64Url(self);
  const removedAt = replica.standing.removedAt(key);
  if (removedAt !== null) {
    const own = replica.standing.epochs.find((r) => r.seq === removedAt && r.by === key);
    if (!own) return notWritten; // another device removed it
    // Its own leave is in the log: its boxes may not have reached the server.
    await leaveBoxes(session, own.epoch, { ...options, leaving: true });
    return { ...notWritten, epoch: own.epoch.epoch, seq: own.seq, boxesLeft: true };
  }
  // Right after its first sync, its own member statement may still be on its way: once it is
  // in, it leaves with a new key like any member.
  if ((await admission(session, options.signal)) === 'cancelled') {
    throw new RemovalError(RemovalErrorReason.cancelled);
  }
  checkCurrent(session);
  if (replica.standing.staying().every((d) => d.signingKey === key)) return notWritten;
  if (replica.rulesVersion < LEAVING_RULES) {
    // The log allows a leave from this version on: a device that does not know it stops at
    // this statement, rather than refuse the leave that every other device takes in.
    await abortable(session.provider.submitKeys(encodeRulesPayload(LEAVING_RULES)), options.signal);
  }
  return newEpoch(session, [self], { ...options, leaving: true });
}

/** No statement written here: another device's came first, or there was no one to write for. */
const notWritten: NewEpoch = {
  epoch: null,
  seq: null,
  snapshotCovers: null,
  snapshotStored: false,
  boxesLeft: null,
};

async function newEpoch(
  session: RemovalSession,
  removing: readonly Uint8Array[],
  options: RemovalOptions & { leaving?: boolean },
): Promise<NewEpoch> {
  const { replica, provider, membership } = session;
  const tries = options.tries ?? 5;
  for (let attempt = 0; attempt < tries; attempt++) {
    checkCurrent(session);
    const removed = removing.filter((d) => replica.standing.removedAt(toBase64Url(d)) === null);
    // Another device's statement removed it first: that epoch stands.
    if (removing.length > 0 && removed.length === 0) return notWritten;
    const epoch = replica.standing.epoch + 1;
    const spaceKey = newSpaceKey();
    const gone = new Set(removed.map(toBase64Url));
    const boxes = replica.standing
      .staying()
      .filter((d) => !gone.has(d.signingKey))
      .map((d) => ({
        signingKey: fromBase64Url(d.signingKey, 32),
        box: sealEpochBox(d.agreementKey, { spaceId: membership.spaceId, epoch, spaceKey }),
      }));
    let seq: number;
    try {
      seq = await abortable(
        provider.submitKeys(encodeEpochPayload({ epoch, removed, boxes })),
        options.signal,
      );
    } catch (error) {
      // Set aside: another statement or a new link came first. Compacted away before its
      // answer came: the replica holds it or not, and the next round sees which.
      if (error instanceof KeysNotStoredError && error.reason !== 'closed') continue;
      throw error;
    }
    if (options.leaving) {
      const boxesLeft = await leaveBoxes(session, { epoch, boxes }, options);
      return { ...notWritten, epoch, seq, boxesLeft };
    }
    // The replica took it in and opened this device's own box: the key is in the keyring.
    if (membership.keyring.get(epoch) === undefined) membership.keyring.add(epoch, spaceKey);
    await session.keepKeys();
    // Before the snapshot compacts the statement away: a device that was away needs them then.
    const boxesLeft = await leaveBoxes(session, { epoch, boxes }, options);
    const snapshot = await writeSnapshot(session, seq, options.signal);
    return { epoch, seq, ...snapshot, boxesLeft };
  }
  throw new RemovalError(RemovalErrorReason.contended);
}

/**
 * Leaves the statement's boxes with the server (docs/protocol.md, "Catching up across a key
 * change"), lost answers sent again; whether it took them. Failing, they go to the session to
 * send again later: the removal stands either way. A device leaving has no later: it rejects.
 */
async function leaveBoxes(
  session: RemovalSession,
  statement: { epoch: number; boxes: readonly { signingKey: Uint8Array; box: Uint8Array }[] },
  options: RemovalOptions & { leaving?: boolean },
): Promise<boolean> {
  const leave = () => leaveEpochBoxes(session.membership, statement, options);
  try {
    await abortable(leave(), options.signal);
    return true;
  } catch (error) {
    if (error instanceof RemovalError || options.leaving) throw error; // cancelled, or no later
    session.leaveBoxesLater?.(leave);
    return false;
  }
}

/** A snapshot covering at least `seq`, sealed with the newest epoch held, and its answer. */
async function writeSnapshot(
  session: RemovalSession,
  seq: number,
  signal: AbortSignal | undefined,
): Promise<{ snapshotCovers: number | null; snapshotStored: boolean }> {
  const { provider } = session;
  return abortable(
    new Promise((resolve) => {
      let covers: number | null = null;
      const done = (answer: { snapshotCovers: number | null; snapshotStored: boolean }) => {
        provider.off('snapshot', onAnswer);
        provider.off('status', onStatus);
        resolve(answer);
      };
      const onAnswer = (coversSeq: number, stored: boolean) => {
        if (coversSeq === covers) done({ snapshotCovers: coversSeq, snapshotStored: stored });
      };
      // A socket that closes first never answers: the snapshot is for a later device to write.
      const onStatus = (status: { kind: string }) => {
        if (status.kind === 'disconnected') done({ snapshotCovers: covers, snapshotStored: false });
      };
      provider.on('snapshot', onAnswer);
      provider.on('status', onStatus);
      covers = provider.compactNow();
      if (covers === null || covers < seq) done({ snapshotCovers: null, snapshotStored: false });
    }),
    signal,
  );
}

function checkCurrent(session: RemovalSession): void {
  const { replica, membership } = session;
  if (replica.partnerOf(membership.identity.signing.publicKey) !== membership.partnerId) {
    throw new RemovalError(RemovalErrorReason.notMember);
  }
}

/** `promise`, or a RemovalError (`cancelled`) as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return abortableWith(promise, signal, () => new RemovalError(RemovalErrorReason.cancelled));
}
