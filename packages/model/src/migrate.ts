import * as Y from 'yjs';
import { checkinKey } from './checkins.js';
import { ModelError, ModelErrorCode } from './errors.js';
import { textFingerprint, wordingFingerprint } from './fingerprint.js';
import type { PartnerId } from './ids.js';
import { Origin } from './origin.js';
import {
  AgreementLifecycle,
  CheckinState,
  QuestionStatus,
  Role,
  SCHEMA_VERSION,
  ThreadItemKind,
} from './schema.js';
import { isRecord, num, numOrNull, roots, str, strOrNull, text, yarray, ymap } from './store.js';

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
  /** False when the document was already current (nothing written). */
  readonly migrated: boolean;
}

/**
 * The schema version a document was written with: 0 for a pre-release document (content but no
 * `space.schemaVersion`), `null` for an empty document.
 */
export function schemaVersionOf(doc: Y.Doc): number | null {
  const r = roots(doc);
  const version = r.space.get('schemaVersion');
  if (typeof version === 'number') return version;
  const hasContent = [r.space, r.partners, r.agreements, r.questions, r.checkins].some(
    (m) => m.size > 0,
  );
  return hasContent ? 0 : null;
}

/**
 * Version 0 (pre-release) differed from version 1 in this way:
 * - no `space.schemaVersion`;
 * - partners were plain JSON objects, not `Y.Map`s;
 * - an agreement stored `status` (`proposed`/`active`/`paused`/`retired`) and `acceptedBy`
 *   (partner ids, no fingerprint); it had no `acceptances`, `history`, `keepLog`, `proposedBy`;
 * - thread items had no `id` or `kind`; questions had no `readMarkers` and stored `closed` as
 *   their status;
 * - check-ins were keyed by a random id, so one partner could have two for one day.
 *
 * Everything written here is derived from existing content only (no clock, no random ids), so
 * the same old document always migrates to the same new content.
 */
function v0ToV1(doc: Y.Doc): void {
  const r = roots(doc);
  r.space.set('schemaVersion', 1);
  if (typeof r.space.get('name') !== 'string') r.space.set('name', '');
  if (typeof r.space.get('createdAt') !== 'number') r.space.set('createdAt', 0);

  for (const [id, value] of [...r.partners.entries()] as [string, unknown][]) {
    if (value instanceof Y.Map || !isRecord(value)) continue;
    const partner = new Y.Map<unknown>();
    partner.set('id', id);
    partner.set(
      'displayName',
      typeof value['displayName'] === 'string' ? value['displayName'] : '',
    );
    partner.set('joinedAt', typeof value['joinedAt'] === 'number' ? value['joinedAt'] : 0);
    partner.set('color', typeof value['color'] === 'string' ? value['color'] : '#888888');
    if (value['role'] === Role.hurt || value['role'] === Role.repairing) {
      partner.set('role', value['role']);
    }
    r.partners.set(id, partner);
  }

  for (const agreement of r.agreements.values()) {
    if (!(agreement instanceof Y.Map)) continue;
    const oldStatus = agreement.get('status');
    agreement.set(
      'lifecycle',
      oldStatus === 'paused' || oldStatus === 'retired' ? oldStatus : AgreementLifecycle.open,
    );
    if (typeof agreement.get('proposedBy') !== 'string') {
      agreement.set('proposedBy', str(agreement, 'createdBy'));
    }
    let acceptances = ymap(agreement, 'acceptances');
    if (!acceptances) agreement.set('acceptances', (acceptances = new Y.Map<unknown>()));
    let history = yarray(agreement, 'history');
    if (!history) agreement.set('history', (history = new Y.Array<unknown>()));
    if (!yarray(agreement, 'keepLog')) agreement.set('keepLog', new Y.Array<unknown>());
    // v0 did not record which wording was accepted. Only `active` meant both partners accepted
    // the text as it stands; any other acceptance cannot be tied to a wording, so it is dropped
    // and the partner is asked again rather than counted for a text they may not have seen.
    const acceptedBy = agreement.get('acceptedBy');
    if (oldStatus === 'active' && Array.isArray(acceptedBy)) {
      const title = text(agreement, 'title')?.toString() ?? '';
      const body = text(agreement, 'body')?.toString() ?? '';
      const fingerprint = wordingFingerprint(title, body);
      const at = num(agreement, 'createdAt');
      for (const partnerId of acceptedBy) {
        if (typeof partnerId !== 'string') continue;
        acceptances.set(partnerId, { fingerprint, at });
        history.push([{ fingerprint, title, body, acceptedBy: partnerId as PartnerId, at }]);
      }
    }
    agreement.delete('status');
    agreement.delete('acceptedBy');
  }

  for (const [questionId, question] of r.questions.entries()) {
    if (!(question instanceof Y.Map)) continue;
    (yarray(question, 'answers')?.toArray() ?? []).forEach((item, index) => {
      if (!(item instanceof Y.Map)) return;
      if (typeof item.get('id') !== 'string') {
        item.set('id', textFingerprint(`${questionId}/${index}`).slice(0, 22));
      }
      if (item.get('kind') !== ThreadItemKind.followUp) item.set('kind', ThreadItemKind.answer);
    });
    if (!ymap(question, 'readMarkers')) question.set('readMarkers', new Y.Map<unknown>());
    if (
      question.get('status') === QuestionStatus.closed &&
      numOrNull(question, 'closedAt') === null
    ) {
      question.set('closedAt', num(question, 'askedAt'));
      question.set('closedBy', str(question, 'askedBy'));
    }
  }

  // Re-key check-ins to (date, partner); of two for one day, the later-written one stays.
  const winners = new Map<string, { key: string; checkin: Y.Map<unknown>; at: number }>();
  for (const [key, checkin] of [...r.checkins.entries()]) {
    if (!(checkin instanceof Y.Map)) continue;
    const date = strOrNull(checkin, 'date');
    const partnerId = strOrNull(checkin, 'partnerId');
    if (date === null || partnerId === null) continue;
    const target = checkinKey(date, partnerId as PartnerId);
    const at = numOrNull(checkin, 'updatedAt') ?? num(checkin, 'at');
    const best = winners.get(target);
    if (!best || at > best.at || (at === best.at && key > best.key)) {
      winners.set(target, { key, checkin, at });
    }
  }
  for (const [target, { checkin, at }] of winners) {
    // Read the winner before deleting anything: a deleted Y.Map forgets its content.
    const state = checkin.get('state');
    const fresh = new Y.Map<unknown>();
    fresh.set('date', str(checkin, 'date'));
    fresh.set('partnerId', str(checkin, 'partnerId'));
    fresh.set('safety', num(checkin, 'safety'));
    fresh.set(
      'state',
      (Object.values(CheckinState) as unknown[]).includes(state) ? state : CheckinState.calm,
    );
    fresh.set('note', str(checkin, 'note'));
    fresh.set('createdAt', numOrNull(checkin, 'createdAt') ?? at);
    fresh.set('updatedAt', at);
    for (const [otherKey, other] of [...r.checkins.entries()]) {
      const belongs =
        other instanceof Y.Map &&
        checkinKey(str(other, 'date'), str(other, 'partnerId') as PartnerId) === target;
      if (belongs && otherKey !== target) r.checkins.delete(otherKey);
    }
    // A Y.Map cannot be moved to another key, so the winner is copied (also when it already
    // sits at its key, to fill in the fields v0 lacked).
    r.checkins.set(target, fresh);
  }
}

/** Step `n` takes a document from version n to n + 1. */
const steps: ReadonlyArray<(doc: Y.Doc) => void> = [v0ToV1];

/**
 * Brings a document written by an earlier schema up to `SCHEMA_VERSION`, in one transaction.
 * Idempotent. Throws `schema-too-new` for a newer document. Run it where the document is loaded
 * authoritatively (the server, before serving), so two replicas do not migrate concurrently.
 */
export function migrate(doc: Y.Doc): MigrationResult {
  const from = schemaVersionOf(doc);
  if (from === null || from === SCHEMA_VERSION) {
    return { from: from ?? SCHEMA_VERSION, to: SCHEMA_VERSION, migrated: false };
  }
  if (from > SCHEMA_VERSION || !Number.isInteger(from) || from < 0) {
    throw new ModelError(
      ModelErrorCode.schemaTooNew,
      `This space was saved by a newer version of Mend (schema ${from}); update the app to open it.`,
    );
  }
  doc.transact(() => {
    for (let v = from; v < SCHEMA_VERSION; v++) steps[v]!(doc);
  }, Origin.migrate);
  return { from, to: SCHEMA_VERSION, migrated: true };
}
