import * as Y from 'yjs';
import { ModelError, ModelErrorCode } from './errors.js';
import type { PartnerId } from './ids.js';
import { Origin } from './origin.js';
import {
  Limits,
  MAX_PARTNERS,
  Role,
  SCHEMA_VERSION,
  type EpochMs,
  type PartnerSnapshot,
  type SpaceSnapshot,
} from './schema.js';
import {
  num,
  numOrNull,
  partnerIds,
  requireInitialised,
  requirePartner,
  roots,
  str,
  strOrNull,
} from './store.js';
import {
  requireBoolean,
  requireColor,
  requireEpochMs,
  requireId,
  requireOneOf,
  requireText,
} from './validate.js';

/** `markPartnerSeen` writes at most this often unless told otherwise. */
export const DEFAULT_SEEN_INTERVAL_MS = 5 * 60_000;

export interface InitSpaceInput {
  /** 0 to Limits.spaceName characters; may be empty (the app then shows a default). */
  readonly name: string;
  readonly createdAt: EpochMs;
}

/** Writes the space's meta data. Runs once per space, on the server's copy, at creation. */
export function initSpace(doc: Y.Doc, input: InitSpaceInput): void {
  const name = requireText(input.name, 'Space name', 0, Limits.spaceName).trim();
  const createdAt = requireEpochMs(input.createdAt, 'createdAt');
  const space = roots(doc).space;
  if (space.has('schemaVersion')) {
    throw new ModelError(
      ModelErrorCode.spaceAlreadyInitialised,
      'This space has already been set up.',
    );
  }
  doc.transact(() => {
    space.set('name', name);
    space.set('createdAt', createdAt);
    space.set('schemaVersion', SCHEMA_VERSION);
  }, Origin.initSpace);
}

export interface RenameSpaceInput {
  readonly name: string;
  readonly by: PartnerId;
}

export function renameSpace(doc: Y.Doc, input: RenameSpaceInput): void {
  requireInitialised(doc);
  const name = requireText(input.name, 'Space name', 0, Limits.spaceName).trim();
  requirePartner(doc, input.by, 'by');
  doc.transact(() => roots(doc).space.set('name', name), Origin.renameSpace);
}

export interface AddPartnerInput {
  readonly id: PartnerId;
  /** 1 to Limits.displayName characters after trimming (docs/api.md); stored trimmed. */
  readonly displayName: string;
  readonly joinedAt: EpochMs;
  /** `#rrggbb` */
  readonly color: string;
  readonly role?: Role | null;
}

/** Adds a partner. The server calls it on create (first partner) and on join (second). */
export function addPartner(doc: Y.Doc, input: AddPartnerInput): PartnerSnapshot {
  requireInitialised(doc);
  const id = requireId<PartnerId>(input.id, 'Partner id');
  const displayName = requireText(input.displayName, 'Display name', 1, Limits.displayName).trim();
  const joinedAt = requireEpochMs(input.joinedAt, 'joinedAt');
  const color = requireColor(input.color, 'color');
  const role = input.role == null ? null : requireOneOf(input.role, Role, 'role');
  const partners = roots(doc).partners;
  if (partners.has(id)) {
    throw new ModelError(ModelErrorCode.duplicateId, `Partner ${id} is already in this space.`);
  }
  if (partnerIds(doc).length >= MAX_PARTNERS) {
    throw new ModelError(ModelErrorCode.spaceFull, 'This space already has two partners.');
  }
  doc.transact(() => {
    const partner = new Y.Map<unknown>();
    partner.set('id', id);
    partner.set('displayName', displayName);
    partner.set('joinedAt', joinedAt);
    partner.set('color', color);
    if (role !== null) partner.set('role', role);
    partners.set(id, partner);
  }, Origin.addPartner);
  return {
    id,
    displayName,
    role,
    joinedAt,
    color,
    lastSeenAt: null,
    showsHere: true,
    showsLastSeen: true,
  };
}

export interface SetPartnerRoleInput {
  readonly partnerId: PartnerId;
  /** `null` clears the role. */
  readonly role: Role | null;
}

export function setPartnerRole(doc: Y.Doc, input: SetPartnerRoleInput): void {
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const role = input.role === null ? null : requireOneOf(input.role, Role, 'role');
  doc.transact(() => {
    const partner = roots(doc).partners.get(partnerId)!;
    if (role === null) partner.delete('role');
    else partner.set('role', role);
  }, Origin.setPartnerRole);
}

export interface SetDisplayNameInput {
  readonly partnerId: PartnerId;
  readonly displayName: string;
}

export function setDisplayName(doc: Y.Doc, input: SetDisplayNameInput): void {
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const displayName = requireText(input.displayName, 'Display name', 1, Limits.displayName).trim();
  const partner = roots(doc).partners.get(partnerId)!;
  if (partner.get('displayName') === displayName) return;
  doc.transact(() => partner.set('displayName', displayName), Origin.setDisplayName);
}

export interface MarkPartnerSeenInput {
  readonly partnerId: PartnerId;
  readonly at: EpochMs;
  /** Skip the write if the stored value is newer than `at - minIntervalMs`. Default 5 minutes. */
  readonly minIntervalMs?: number;
}

/**
 * Records "last seen". Throttled so an open tab does not grow the document: returns whether it
 * wrote. Never moves the value backwards.
 */
export function markPartnerSeen(doc: Y.Doc, input: MarkPartnerSeenInput): boolean {
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const at = requireEpochMs(input.at, 'at');
  const interval = input.minIntervalMs ?? DEFAULT_SEEN_INTERVAL_MS;
  requireEpochMs(interval, 'minIntervalMs');
  const partner = roots(doc).partners.get(partnerId)!;
  if (!shown(partner, 'showsLastSeen')) return false;
  const previous = numOrNull(partner, 'lastSeenAt');
  if (previous !== null && at < previous + interval) return false;
  doc.transact(() => partner.set('lastSeenAt', at), Origin.markPartnerSeen);
  return true;
}

export interface SetPresenceSharingInput {
  readonly partnerId: PartnerId;
  /** Whether the partner may see when this person has the space open. Unchanged if left out. */
  readonly here?: boolean;
  /** Whether "last seen" is recorded and shown. Unchanged if left out. */
  readonly lastSeen?: boolean;
}

/**
 * A partner's own choice of what the other may see of their comings and goings (Settings). It
 * lives on the partner's record, so every device of theirs follows it. Absent means shown, so
 * documents from before the choice existed keep their behaviour. Turning "last seen" off also
 * forgets the recorded time: hiding it would otherwise leave it in every copy of the space.
 */
export function setPresenceSharing(doc: Y.Doc, input: SetPresenceSharingInput): void {
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const here = input.here === undefined ? undefined : requireBoolean(input.here, 'here');
  const lastSeen =
    input.lastSeen === undefined ? undefined : requireBoolean(input.lastSeen, 'lastSeen');
  const partner = roots(doc).partners.get(partnerId)!;
  doc.transact(() => {
    if (here !== undefined) partner.set('showsHere', here);
    if (lastSeen !== undefined) {
      partner.set('showsLastSeen', lastSeen);
      if (!lastSeen) partner.delete('lastSeenAt');
    }
  }, Origin.setPresenceSharing);
}

function shown(partner: Y.Map<unknown>, key: 'showsHere' | 'showsLastSeen'): boolean {
  return partner.get(key) !== false;
}

// ---- reads

/** The space's meta data, or `null` before `initSpace`. */
export function getSpace(doc: Y.Doc): SpaceSnapshot | null {
  const space = roots(doc).space;
  const schemaVersion = space.get('schemaVersion');
  if (typeof schemaVersion !== 'number') return null;
  return { name: str(space, 'name'), createdAt: num(space, 'createdAt'), schemaVersion };
}

function partnerSnapshot(id: PartnerId, partner: Y.Map<unknown>): PartnerSnapshot {
  const role = strOrNull(partner, 'role');
  return {
    id,
    // Missing only while a rename has partly arrived (SPEC.md, "Partial delivery"); a partner is
    // never left out, since who is in the space decides statuses.
    displayName: str(partner, 'displayName', 'Partner'),
    role: role === Role.hurt || role === Role.repairing ? role : null,
    joinedAt: num(partner, 'joinedAt'),
    color: str(partner, 'color', '#888888'),
    // A device that had not yet heard of the choice may still have written a time: hide it.
    lastSeenAt: shown(partner, 'showsLastSeen') ? numOrNull(partner, 'lastSeenAt') : null,
    showsHere: shown(partner, 'showsHere'),
    showsLastSeen: shown(partner, 'showsLastSeen'),
  };
}

export function getPartner(doc: Y.Doc, partnerId: PartnerId): PartnerSnapshot | null {
  const partner = roots(doc).partners.get(partnerId);
  return partner instanceof Y.Map ? partnerSnapshot(partnerId, partner) : null;
}

/** Partners in the order they joined. */
export function listPartners(doc: Y.Doc): PartnerSnapshot[] {
  const partners = roots(doc).partners;
  return partnerIds(doc).map((id) => partnerSnapshot(id, partners.get(id)!));
}

/** The other partner, or `null` while the space has only one. */
export function otherPartner(doc: Y.Doc, partnerId: PartnerId): PartnerSnapshot | null {
  return listPartners(doc).find((p) => p.id !== partnerId) ?? null;
}
