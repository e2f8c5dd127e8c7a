import * as Y from 'yjs';
import { isOnDay } from './dates.js';
import { ModelError, ModelErrorCode } from './errors.js';
import { textFingerprint } from './fingerprint.js';
import type { PartnerId, ShareKey } from './ids.js';
import { Origin } from './origin.js';
import {
  Feeling,
  Limits,
  type EpochMs,
  type IsoDate,
  type ShareContent,
  type ShareSnapshot,
} from './schema.js';
import {
  isRecord,
  notFound,
  requireInitialised,
  requirePartner,
  roots,
  setIfChanged,
} from './store.js';
import { isEpochMs, isIsoDate, requireEpochMs, requireIsoDate, requireText } from './validate.js';

/** The deterministic key of a partner's share of a day: `${date}:${partnerId}`. */
export function shareKey(date: IsoDate, partnerId: PartnerId): ShareKey {
  return `${date}:${partnerId}` as ShareKey;
}

const FEELINGS: readonly string[] = Object.values(Feeling);

/** The texts of a share, in the order the fingerprint and the form use. */
const TEXT_FIELDS = ['feelingWords', 'affirmation', 'needs', 'ownership', 'struggles'] as const;
type TextField = (typeof TEXT_FIELDS)[number];

const FIELD_NAMES: Record<TextField, string> = {
  feelingWords: 'Feelings in your words',
  affirmation: 'Affirmation',
  needs: 'Needs',
  ownership: 'Ownership',
  struggles: 'Struggles',
};

/**
 * The fingerprint of a share's content: SHA-256 (hex) over its feelings and texts as JSON. A
 * heard mark stores it, so the mark counts only for the words the listener read.
 */
export function shareFingerprint(content: ShareContent): string {
  return textFingerprint(
    JSON.stringify([content.feelings, ...TEXT_FIELDS.map((field) => content[field])]),
  );
}

function requireFeelings(value: unknown): Feeling[] {
  if (!Array.isArray(value) || value.some((f) => typeof f !== 'string' || !FEELINGS.includes(f))) {
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      `Feelings must be chosen from: ${FEELINGS.join(', ')}.`,
    );
  }
  // One canonical order, so the same choice always stores (and fingerprints) the same.
  return FEELINGS.filter((f) => value.includes(f)) as Feeling[];
}

export interface SaveShareInput {
  /** The author. A share is theirs: only they write it. */
  readonly partnerId: PartnerId;
  /** The author's today; the share of that day is created or changed. */
  readonly date: IsoDate;
  readonly feelings: readonly Feeling[];
  /** Each text is 0 to `Limits.shareText` characters; omitted means empty. */
  readonly feelingWords?: string;
  readonly affirmation?: string;
  readonly needs?: string;
  readonly ownership?: string;
  readonly struggles?: string;
  /** Must fall on `date` (in some time zone): a day's share is written on that day only. */
  readonly at: EpochMs;
}

/**
 * Creates the author's share of the day, or changes it on the same day. The key is derived from
 * (date, author), so a partner has one share a day, whichever device writes it. Refused once the
 * other partner has heard it (what was heard stays as it was said) and after its day.
 */
export function saveShare(doc: Y.Doc, input: SaveShareInput): ShareKey {
  requireInitialised(doc);
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const date = requireIsoDate(input.date, 'date');
  const at = requireEpochMs(input.at, 'at');
  const feelings = requireFeelings(input.feelings);
  const texts = Object.fromEntries(
    TEXT_FIELDS.map((field) => [
      field,
      requireText(input[field] ?? '', FIELD_NAMES[field], 0, Limits.shareText),
    ]),
  ) as Record<TextField, string>;
  if (feelings.length === 0 && texts.feelingWords.trim() === '') {
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      'Feelings: choose at least one, or say it in words.',
    );
  }
  const key = shareKey(date, partnerId);
  const shares = roots(doc).shares;
  const existing = shares.get(key);
  if (!isOnDay(date, at)) {
    throw existing instanceof Y.Map
      ? new ModelError(ModelErrorCode.notAllowed, 'A share can be changed on its own day only.')
      : new ModelError(ModelErrorCode.invalidArgument, 'A share is written for the day it is.');
  }
  if (existing instanceof Y.Map && existing.has('heard')) {
    throw new ModelError(
      ModelErrorCode.notAllowed,
      'This share has been heard; it stays as it was said.',
    );
  }
  doc.transact(() => {
    let share = shares.get(key);
    if (!(share instanceof Y.Map)) {
      share = new Y.Map<unknown>();
      share.set('date', date);
      share.set('partnerId', partnerId);
      share.set('createdAt', at);
      share.set('feelings', feelings);
      for (const field of TEXT_FIELDS) share.set(field, texts[field]);
      shares.set(key, share);
    } else {
      const stored = share.get('feelings');
      if (!Array.isArray(stored) || stored.join(',') !== feelings.join(',')) {
        share.set('feelings', feelings);
      }
      for (const field of TEXT_FIELDS) setIfChanged(share, field, texts[field]);
    }
    share.set('updatedAt', at);
  }, Origin.saveShare);
  return key;
}

export interface MarkShareHeardInput {
  readonly shareKey: ShareKey;
  /** The listener: the partner who did not write the share. */
  readonly by: PartnerId;
  /** `ShareSnapshot.fingerprint` of the share as shown; a stale one throws `stale-wording`. */
  readonly fingerprint: string;
  readonly at: EpochMs;
}

/**
 * The listener's "I heard you": the only answer a share takes. Returns false, writing nothing,
 * when the listener has already heard these words; a mark is made once.
 */
export function markShareHeard(doc: Y.Doc, input: MarkShareHeardInput): boolean {
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  const key = String(input.shareKey);
  const share = roots(doc).shares.get(key);
  const current = share instanceof Y.Map ? snapshot(key, share) : null;
  if (!share || !current) throw notFound('share', key);
  if (current.partnerId === by) {
    throw new ModelError(
      ModelErrorCode.notAllowed,
      'A share is heard by the other partner, not by the one who wrote it.',
    );
  }
  if (input.fingerprint !== current.fingerprint) {
    throw new ModelError(
      ModelErrorCode.staleWording,
      'The share changed after it was shown; read it again first.',
    );
  }
  if (current.heard?.ofCurrentWords) return false;
  doc.transact(
    () => share.set('heard', { by, at, fingerprint: current.fingerprint }),
    Origin.markShareHeard,
  );
  return true;
}

/**
 * The share as a snapshot, or `null` while a field is missing or invalid (an overwrite whose new
 * value is parked; SPEC.md, "Partial delivery"). A parked or malformed heard mark reads as not
 * heard: a share shows unheard for a moment, never heard when it was not.
 */
function snapshot(key: string, share: Y.Map<unknown>): ShareSnapshot | null {
  const date = share.get('date');
  const partnerId = share.get('partnerId');
  const feelings = share.get('feelings');
  const createdAt = share.get('createdAt');
  const updatedAt = share.get('updatedAt');
  if (
    !isIsoDate(date) ||
    typeof partnerId !== 'string' ||
    key !== shareKey(date, partnerId as PartnerId) ||
    !Array.isArray(feelings) ||
    feelings.some((f) => !FEELINGS.includes(f as string)) ||
    !isEpochMs(createdAt) ||
    !isEpochMs(updatedAt)
  ) {
    return null;
  }
  const texts: Partial<Record<TextField, string>> = {};
  for (const field of TEXT_FIELDS) {
    const value = share.get(field);
    if (typeof value !== 'string') return null;
    texts[field] = value;
  }
  const content: ShareContent = {
    feelings: feelings as Feeling[],
    ...(texts as Record<TextField, string>),
  };
  const fingerprint = shareFingerprint(content);
  const mark = share.get('heard');
  const heard =
    isRecord(mark) &&
    typeof mark['by'] === 'string' &&
    mark['by'] !== partnerId &&
    isEpochMs(mark['at']) &&
    typeof mark['fingerprint'] === 'string'
      ? {
          by: mark['by'] as PartnerId,
          at: mark['at'],
          ofCurrentWords: mark['fingerprint'] === fingerprint,
        }
      : null;
  return {
    key: key as ShareKey,
    date,
    partnerId: partnerId as PartnerId,
    ...content,
    createdAt,
    updatedAt,
    fingerprint,
    heard,
  };
}

export function getShare(doc: Y.Doc, date: IsoDate, partnerId: PartnerId): ShareSnapshot | null {
  const key = shareKey(date, partnerId);
  const share = roots(doc).shares.get(key);
  return share instanceof Y.Map ? snapshot(key, share) : null;
}

/** Every share, sorted by date then author. */
export function listShares(doc: Y.Doc): ShareSnapshot[] {
  const out: ShareSnapshot[] = [];
  for (const [key, share] of roots(doc).shares.entries()) {
    const s = share instanceof Y.Map ? snapshot(key, share) : null;
    if (s) out.push(s);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface ShareDay {
  readonly date: IsoDate;
  /** The day's shares, one per partner who shared, in author order. */
  readonly shares: readonly ShareSnapshot[];
}

/** The shares grouped by day, the most recent day first. */
export function shareHistory(doc: Y.Doc): ShareDay[] {
  const days = new Map<IsoDate, ShareSnapshot[]>();
  for (const share of listShares(doc)) {
    days.set(share.date, [...(days.get(share.date) ?? []), share]);
  }
  return [...days.entries()]
    .sort(([a], [b]) => (a < b ? 1 : -1))
    .map(([date, shares]) => ({ date, shares }));
}

/** The other partner's shares this partner has not heard yet (as they read now), oldest first. */
export function sharesToHear(doc: Y.Doc, partnerId: PartnerId): ShareSnapshot[] {
  return listShares(doc).filter(
    (s) => s.partnerId !== partnerId && !(s.heard?.ofCurrentWords ?? false),
  );
}
