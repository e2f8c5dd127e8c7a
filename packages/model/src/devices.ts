import * as Y from 'yjs';
import { ModelError, ModelErrorCode } from './errors.js';
import { isId, isSealingKey, type PartnerId } from './ids.js';
import { Origin } from './origin.js';
import { Limits, type EpochMs } from './schema.js';
import { requireInitialised, requirePartner, roots, setIfChanged } from './store.js';
import { codePoints, requireEpochMs } from './validate.js';

/*
 * What each device of a sealed space is called (SPEC.md 50-52): the `devices` map, a device's
 * signing key (base64url, as the sealed log names it) → `{ partnerId, name, addedAt }`. Which
 * devices are in the space is the sealed log's to say, not the document's: an entry only names
 * one. Its own module, as the app loads it after the space is shown.
 */

/** A device's entry as `readDeviceNames` returns it. */
export interface DeviceName {
  /** The partner whose seat the device holds, and who alone names it. */
  readonly partnerId: PartnerId;
  /** Trimmed, 1 to `Limits.deviceName` characters. */
  readonly name: string;
  /** When the entry was written, ISO 8601 in UTC (`Date.prototype.toISOString`); never changes. */
  readonly addedAt: string;
}

export interface NameDeviceInput {
  readonly partnerId: PartnerId;
  /** The device's signing key: 32 bytes in unpadded base64url (43 characters). */
  readonly device: string;
  readonly name: string;
  /** Now; it becomes `addedAt` when the entry is new. */
  readonly now: EpochMs;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A time as `toISOString` writes it, and only so (one spelling per moment). */
export function isIsoTime(value: unknown): value is string {
  if (typeof value !== 'string' || !ISO_TIME.test(value)) return false;
  const at = Date.parse(value);
  return Number.isFinite(at) && new Date(at).toISOString() === value;
}

/** A device's name as stored: trimmed, 1 to `Limits.deviceName` characters. */
export function isDeviceName(value: unknown): value is string {
  if (typeof value !== 'string' || value !== value.trim()) return false;
  const length = codePoints(value);
  return length >= 1 && length <= Limits.deviceName;
}

/**
 * Names a device of `partnerId`'s seat: writes its entry, or renames it. The entry is created
 * with `addedAt` = `now`; a rename changes `name` only. Returns false, writing nothing, when
 * the device already has this name. Refuses (`invalid-argument`) a key that is not 32 bytes in
 * unpadded base64url and a name that is empty or longer than `Limits.deviceName` once trimmed,
 * (`not-found`) a partner the space lacks, and (`not-allowed`) a device whose entry is the
 * other partner's, or not one this code can read.
 */
export function nameDevice(doc: Y.Doc, input: NameDeviceInput): boolean {
  requireInitialised(doc);
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  if (!isSealingKey(input.device)) {
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      'device must be a signing key: 32 bytes in unpadded base64url (43 characters).',
    );
  }
  const name = typeof input.name === 'string' ? input.name.trim() : input.name;
  if (!isDeviceName(name)) {
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      `A device's name must be 1 to ${Limits.deviceName} characters.`,
    );
  }
  const now = requireEpochMs(input.now, 'now');
  const devices = roots(doc).devices;
  const existing: unknown = devices.get(input.device);
  if (existing !== undefined) {
    if (!(existing instanceof Y.Map) || existing.get('partnerId') !== partnerId) {
      throw new ModelError(ModelErrorCode.notAllowed, 'This device is named by its own partner.');
    }
    if (existing.get('name') === name) return false;
    doc.transact(() => setIfChanged(existing, 'name', name), Origin.nameDevice);
    return true;
  }
  doc.transact(() => {
    const entry = new Y.Map<unknown>();
    devices.set(input.device, entry);
    entry.set('partnerId', partnerId);
    entry.set('name', name);
    entry.set('addedAt', new Date(now).toISOString());
  }, Origin.nameDevice);
  return true;
}

/**
 * Every device's name, by signing key. Tolerant: an entry under a key that is not a signing key,
 * not a map, or missing or holding a wrong `partnerId`, `name` or `addedAt` is left out (another
 * version, a forger, or a rename whose new value has not arrived yet: SPEC.md, "Partial
 * delivery"). Whether the device is in the space, and in that partner's seat, is the caller's
 * question: the sealed log answers it.
 */
export function readDeviceNames(doc: Y.Doc): Map<string, DeviceName> {
  const out = new Map<string, DeviceName>();
  for (const [key, entry] of roots(doc).devices.entries()) {
    if (!isSealingKey(key) || !((entry as unknown) instanceof Y.Map)) continue;
    const partnerId: unknown = entry.get('partnerId');
    const name: unknown = entry.get('name');
    const addedAt: unknown = entry.get('addedAt');
    if (!isId(partnerId) || !isDeviceName(name) || !isIsoTime(addedAt)) continue;
    out.set(key, { partnerId: partnerId as PartnerId, name, addedAt });
  }
  return out;
}
