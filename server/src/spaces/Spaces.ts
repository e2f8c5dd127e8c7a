import {
  SCHEMA_VERSION,
  isModelError,
  migrate,
  writeMissingPartner,
  writeNewSpace,
  writeSecondPartner,
} from '@mend/model';
import {
  encodeBase64Url,
  isSpaceId,
  type CreateSealedSpaceRequest,
  type CreateSealedSpaceResponse,
  type CreateSpaceRequest,
  type CreateSpaceResponse,
  type JoinSealedSpaceRequest,
  type JoinSealedSpaceResponse,
  type JoinSpaceRequest,
  type JoinSpaceResponse,
  type PartnerId,
  type SealSpaceRequest,
  type SealSpaceResponse,
  type SealedKeyResponse,
  type SealedWelcomeRequest,
  type SealedWelcomeResponse,
  type SpaceId,
} from '@mend/protocol';
import {
  hashSecret,
  newInviteCode,
  newPartnerId,
  newSpaceId,
  newToken,
  sameHash,
} from '../http/credentials.js';
import type { Logger } from '../log.js';
import { sameBytes } from '../storage/sealedChain.js';
import type {
  DeviceRecord,
  PartnerRecord,
  SpaceDirectory,
  SpaceRecord,
  UpdateLog,
} from '../storage/StorageAdapter.js';
import type { Room } from '../sync/Room.js';
import type { Rooms } from '../sync/Rooms.js';
import { keyBoxFor, sealPlaintextSpace } from './conversion.js';
import { SpaceError, SpaceErrorReason } from './SpaceError.js';

export interface SpacesDeps {
  /** Who belongs where; `deleteSpace` takes back a space whose document could not be written. */
  directory: SpaceDirectory & Pick<UpdateLog, 'deleteSpace'>;
  /** Where documents are written, so a loaded room and its devices see the change at once. */
  rooms: Pick<Rooms, 'with'>;
  log: Logger;
}

/**
 * A space's life in one place: its creation, the second partner's join, and bringing its
 * document up to date before a partner is served. Stores rows in the directory and writes the
 * document through the space's room. Sealed spaces (docs/protocol.md) are created and joined
 * here too; the server writes nothing into their document (it cannot read it). Refusals are
 * SpaceErrors; the HTTP edge words them as statuses.
 */
export class Spaces {
  readonly #deps: SpacesDeps;
  /** Partners whose document was already prepared in a loaded room; forgotten with the room. */
  readonly #prepared = new WeakMap<Room, Set<PartnerId>>();

  constructor(deps: SpacesDeps) {
    this.#deps = deps;
  }

  /** Stores a new space with its first partner and writes its document. */
  async create(input: CreateSpaceRequest): Promise<CreateSpaceResponse> {
    const { directory, rooms } = this.#deps;
    const spaceId = newSpaceId();
    const partnerId = newPartnerId();
    const token = newToken();
    const inviteCode = newInviteCode();
    const name = input.name ?? null;
    const now = Date.now();
    await directory.createSpace(
      { spaceId, name, createdAt: now, inviteHash: hashSecret(inviteCode) },
      {
        partnerId,
        spaceId,
        displayName: input.displayName,
        tokenHash: hashSecret(token),
        joinedAt: now,
      },
    );
    try {
      await rooms.with(spaceId, (room) =>
        room.change((doc) =>
          writeNewSpace(doc, { name, createdAt: now, partnerId, displayName: input.displayName }),
        ),
      );
    } catch (error) {
      // A space without its document would confuse everyone: take it back.
      await directory.deleteSpace(spaceId).catch(() => {});
      if (isModelError(error)) throw new SpaceError(SpaceErrorReason.invalid, error.message);
      throw error;
    }
    this.#deps.log.info({ spaceId }, 'space created');
    return { spaceId, partnerId, token, inviteCode };
  }

  /**
   * The space a join names. Separate from `join` because an unknown space is answered before
   * anything about the request's body.
   */
  async find(rawSpaceId: string): Promise<SpaceRecord> {
    const space = isSpaceId(rawSpaceId) ? await this.#deps.directory.getSpace(rawSpaceId) : null;
    if (!space) {
      throw new SpaceError(
        SpaceErrorReason.notFound,
        'This space does not exist. It may have been deleted.',
      );
    }
    return space;
  }

  /** Adds the second partner with the space's invite code, and writes them into the document. */
  async join(space: SpaceRecord, input: JoinSpaceRequest): Promise<JoinSpaceResponse> {
    const { directory, rooms } = this.#deps;
    checkInviteCode(space, input.inviteCode);
    if (space.sealed) {
      throw new SpaceError(
        SpaceErrorReason.otherKind,
        'This space is end-to-end encrypted. Please open the invite link in an up-to-date Mend.',
      );
    }
    if (space.inviteUsedAt !== null) throw inviteUsed();
    const { spaceId } = space;
    const partnerId = newPartnerId();
    const token = newToken();
    const now = Date.now();
    const result = await directory.addPartner(
      spaceId,
      {
        partnerId,
        spaceId,
        displayName: input.displayName,
        tokenHash: hashSecret(token),
        joinedAt: now,
      },
      now,
    );
    if (result !== 'added') throw inviteUsed();
    try {
      await rooms.with(spaceId, (room) =>
        room.change((doc) =>
          writeSecondPartner(doc, { partnerId, displayName: input.displayName, joinedAt: now }),
        ),
      );
    } catch (error) {
      // The partner is stored and the invite spent: failing now would lock them out for good.
      // Their first connection writes them into the document (see prepare).
      this.#deps.log.error(
        { err: error, spaceId },
        'could not write a joining partner into the document; their first connection will',
      );
    }
    this.#deps.log.info({ spaceId }, 'partner joined');
    return { spaceId, partnerId, token };
  }

  /**
   * Stores a new sealed space with the creating device's public keys, the hash of the invite
   * code its device derived, and the welcome box for the joining device. No name, no document.
   */
  async createSealed(input: CreateSealedSpaceRequest): Promise<CreateSealedSpaceResponse> {
    const spaceId = newSpaceId();
    const partnerId = newPartnerId();
    const token = newToken();
    const now = Date.now();
    await this.#deps.directory.createSealedSpace(
      { spaceId, createdAt: now, inviteHash: hashSecret(input.inviteCode), welcome: input.welcome },
      {
        spaceId,
        partnerId,
        signingKey: input.signingKey,
        agreementKey: input.agreementKey,
        tokenHash: hashSecret(token),
        addedAt: now,
      },
    );
    this.#deps.log.info(
      { spaceId, welcomeBytes: input.welcome.byteLength },
      'sealed space created',
    );
    return { spaceId, partnerId, token };
  }

  /**
   * Adds the second partner's device to a sealed space with the invite code, and hands it the
   * welcome box and the creating device's public keys (the box says which device made the space;
   * the keys let the joining device check that against what the server says).
   */
  /**
   * Hands the welcome box to the joining device before it joins (docs/protocol.md, "The welcome
   * box and joining"): the invite code is exchanged for the join code the device chose, so a
   * second holder of the link gets nothing, and only that device can join (or ask again after a
   * lost answer, with the same two codes).
   */
  async handOverWelcome(
    space: SpaceRecord,
    input: SealedWelcomeRequest,
  ): Promise<SealedWelcomeResponse> {
    const { directory, log } = this.#deps;
    checkSealedInvite(space, input.inviteCode, input.joinCode);
    const { spaceId } = space;
    const creator = (await directory.listDevices(spaceId))[0];
    if (!creator) throw inviteUsed();
    const box = await directory.handOverWelcome(
      spaceId,
      hashSecret(input.inviteCode),
      hashSecret(input.joinCode),
      Date.now(),
    );
    if (box === null) throw openedElsewhere();
    log.info({ spaceId }, 'welcome box handed over');
    return {
      welcome: encodeBase64Url(box),
      creator: {
        signingKey: encodeBase64Url(creator.signingKey),
        agreementKey: encodeBase64Url(creator.agreementKey),
      },
    };
  }

  async joinSealed(
    space: SpaceRecord,
    input: JoinSealedSpaceRequest,
  ): Promise<JoinSealedSpaceResponse> {
    const { directory, log } = this.#deps;
    const { spaceId } = space;
    if (isJoinRetry(space, input.inviteCode, Date.now())) return this.#joinAgain(space, input);
    checkSealedInvite(space, input.inviteCode);
    const creators = await directory.listDevices(spaceId);
    const creator = creators[0];
    if (!creator) throw inviteUsed();
    if (creators.some((d) => sameBytes(d.signingKey, input.signingKey))) {
      throw new SpaceError(
        SpaceErrorReason.deviceTaken,
        'This device is already part of this space. Please open the space from your list.',
      );
    }
    const partnerId = newPartnerId();
    const token = newToken();
    const now = Date.now();
    const result = await directory.addSealedPartner(
      spaceId,
      {
        spaceId,
        partnerId,
        signingKey: input.signingKey,
        agreementKey: input.agreementKey,
        tokenHash: hashSecret(token),
        addedAt: now,
      },
      now,
    );
    if (result !== 'added') throw inviteUsed();
    log.info({ spaceId }, 'partner joined a sealed space');
    return {
      spaceId,
      partnerId,
      token,
      // A device that took the box before joining holds it already.
      ...(space.welcome === null || space.welcomeTakenAt !== null
        ? {}
        : { welcome: encodeBase64Url(space.welcome) }),
      creator: {
        signingKey: encodeBase64Url(creator.signingKey),
        agreementKey: encodeBase64Url(creator.agreementKey),
      },
    };
  }

  /**
   * The same device joining again with its join code, because the first answer was lost: it
   * gets a new token (the one it never received stops working), and the same answer otherwise.
   */
  async #joinAgain(
    space: SpaceRecord,
    input: JoinSealedSpaceRequest,
  ): Promise<JoinSealedSpaceResponse> {
    const { directory, log } = this.#deps;
    const { spaceId } = space;
    const devices = await directory.listDevices(spaceId);
    const creator = devices[0];
    // Only the device that joined: the first of the other seat. A linked device or a recovery
    // device of either seat never gets a token this way, though their keys are no secret.
    const joined = devices.find((d) => d.partnerId !== creator?.partnerId);
    const device =
      joined &&
      sameBytes(joined.signingKey, input.signingKey) &&
      sameBytes(joined.agreementKey, input.agreementKey)
        ? joined
        : undefined;
    if (!creator || !device) throw inviteUsed();
    const token = newToken();
    if (!(await directory.renewDeviceToken(spaceId, input, hashSecret(token)))) throw inviteUsed();
    log.info({ spaceId }, 'a join was retried');
    return {
      spaceId,
      partnerId: device.partnerId,
      token,
      creator: {
        signingKey: encodeBase64Url(creator.signingKey),
        agreementKey: encodeBase64Url(creator.agreementKey),
      },
    };
  }
  /**
   * Converts a plaintext space into a sealed one at a partner's request (docs/protocol.md,
   * "Converting a plaintext space"; see conversion.ts). The caller closes its plaintext sockets.
   */
  seal(
    spaceId: SpaceId,
    caller: PartnerRecord,
    input: SealSpaceRequest,
  ): Promise<SealSpaceResponse> {
    return sealPlaintextSpace(this.#deps, spaceId, caller, input);
  }

  /** A converted space's key box for `device`, and the converting device's keys. */
  keyBox(spaceId: SpaceId, device: DeviceRecord): Promise<SealedKeyResponse> {
    return keyBoxFor(this.#deps, spaceId, device);
  }

  /**
   * Before a partner's first socket in a loaded room is served: migrates a document written by an
   * earlier schema (here, where the document is authoritative, so two devices never migrate it at
   * once), and heals a join whose document write failed (see writeMissingPartner). A check that
   * passed is recorded in the directory for the partner and schema version, so later loads (after
   * a restart, or once the room was unloaded) serve the stored bytes without rebuilding the
   * document. Never blocks the socket: a failure is logged and the document served as stored.
   */
  async prepare(room: Room, partner: PartnerRecord): Promise<void> {
    const { directory, log } = this.#deps;
    let prepared = this.#prepared.get(room);
    if (!prepared) this.#prepared.set(room, (prepared = new Set()));
    if (prepared.has(partner.partnerId)) return;
    try {
      const recorded = await directory.getDocCheck(room.spaceId, partner.partnerId);
      if (recorded !== SCHEMA_VERSION) {
        let migrated = false;
        let healed = false;
        await room.change((doc) => {
          migrated = migrate(doc).migrated;
          healed = writeMissingPartner(doc, partner);
        });
        if (migrated)
          log.info({ spaceId: room.spaceId }, 'migrated a document to the current schema');
        if (healed)
          log.warn({ spaceId: room.spaceId }, 'wrote a partner missing from the document');
        await directory.recordDocCheck(room.spaceId, partner.partnerId, SCHEMA_VERSION);
      }
      prepared.add(partner.partnerId);
    } catch (error) {
      log.error({ err: error, spaceId: room.spaceId }, 'could not prepare the document of a space');
    }
  }
}

/** Refuses a wrong invite code (403): checked first, so a stranger learns nothing more. */
function checkInviteCode(space: SpaceRecord, inviteCode: string): void {
  if (!sameHash(space.inviteHash, hashSecret(inviteCode))) {
    throw new SpaceError(
      SpaceErrorReason.wrongInvite,
      'This invite code is not right. Please ask for a new link.',
    );
  }
}

/**
 * The invite code of a sealed space, or the join code standing for it once a device took the
 * welcome box (`joinCode`: a welcome request asking again). After the hand-over the link's own
 * code matches nothing stored, so any other code gets 409, which says what happened (docs/api.md,
 * Sealed spaces).
 */
function checkSealedInvite(space: SpaceRecord, code: string, joinCode?: string): void {
  if (!space.sealed) {
    checkInviteCode(space, code);
    throw new SpaceError(
      SpaceErrorReason.otherKind,
      'This space is not end-to-end encrypted. Please open the invite link in Mend to join it.',
    );
  }
  if (space.inviteUsedAt !== null || space.welcome === null) throw inviteUsed();
  if (space.welcomeTakenAt !== null) {
    const asked = joinCode ?? code;
    if (!sameHash(space.inviteHash, hashSecret(asked))) throw openedElsewhere();
    return;
  }
  checkInviteCode(space, code);
}

/** How long after a join the same device may ask again, its first answer lost. */
const JOIN_RETRY_MS = 10 * 60_000;

/** A join code already used, within minutes of the join: maybe its answer was lost. */
function isJoinRetry(space: SpaceRecord, code: string, now: number): boolean {
  return (
    space.sealed &&
    space.inviteUsedAt !== null &&
    space.welcomeTakenAt !== null &&
    now - space.inviteUsedAt <= JOIN_RETRY_MS &&
    sameHash(space.inviteHash, hashSecret(code))
  );
}

function openedElsewhere(): SpaceError {
  return new SpaceError(
    SpaceErrorReason.full,
    'This invite link has already been opened on another device. If that was not you, please talk to your partner.',
  );
}

function inviteUsed(): SpaceError {
  return new SpaceError(
    SpaceErrorReason.full,
    'This invite link has already been used: the space already has two people. If that was you on another device, open Mend there. Otherwise, talk to your partner.',
  );
}
