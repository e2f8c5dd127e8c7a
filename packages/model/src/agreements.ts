import * as Y from 'yjs';
import { ModelError, ModelErrorCode } from './errors.js';
import { wordingFingerprint } from './fingerprint.js';
import {
  randomId,
  type AgreementId,
  type IdGenerator,
  type KeepEntryId,
  type PartnerId,
} from './ids.js';
import { Origin } from './origin.js';
import {
  AgreementLifecycle,
  AgreementStatus,
  KeepValue,
  Limits,
  MAX_PARTNERS,
  type Acceptance,
  type AcceptedWording,
  type AgreedWording,
  type AgreementSnapshot,
  type EpochMs,
  type IsoDate,
  type KeepEntry,
  type KeepLogDay,
} from './schema.js';
import {
  isRecord,
  notFound,
  numOrNull,
  partnerIds,
  requireInitialised,
  requirePartner,
  roots,
  setIfChanged,
  strOrNull,
  text,
  yarray,
  ymap,
} from './store.js';
import { replaceText } from './text.js';
import { freshId, requireEpochMs, requireIsoDate, requireOneOf, requireText } from './validate.js';

export interface ProposeAgreementInput {
  /** Defaults to a fresh random id. */
  readonly id?: AgreementId;
  readonly title: string;
  readonly body: string;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

/** A new agreement, proposed by `by`. Nobody has accepted it yet (not even its proposer). */
export function proposeAgreement(
  doc: Y.Doc,
  input: ProposeAgreementInput,
  newId: IdGenerator = randomId,
): AgreementId {
  requireInitialised(doc);
  const title = requireText(input.title, 'Title', 1, Limits.agreementTitle);
  const body = requireText(input.body, 'Agreement text', 0, Limits.agreementBody);
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  const agreements = roots(doc).agreements;
  const id = freshId<AgreementId>(input.id, newId, 'Agreement id', (i) => agreements.has(i));
  doc.transact(() => {
    const agreement = new Y.Map<unknown>();
    agreement.set('id', id);
    agreement.set('title', new Y.Text(title));
    agreement.set('body', new Y.Text(body));
    agreement.set('createdBy', by);
    agreement.set('proposedBy', by);
    agreement.set('createdAt', at);
    agreement.set('lifecycle', AgreementLifecycle.open);
    agreement.set('acceptances', new Y.Map<unknown>());
    agreement.set('history', new Y.Array<unknown>());
    agreement.set('keepLog', new Y.Array<unknown>());
    agreements.set(id, agreement);
  }, Origin.proposeAgreement);
  return id;
}

function requireAgreement(doc: Y.Doc, id: unknown): Y.Map<unknown> {
  const agreement = typeof id === 'string' ? roots(doc).agreements.get(id) : undefined;
  if (!(agreement instanceof Y.Map)) throw notFound('agreement', String(id));
  return agreement;
}

/** The agreement's texts; a migrated or damaged map missing them reads as empty. */
function texts(agreement: Y.Map<unknown>): { title: Y.Text | null; body: Y.Text | null } {
  return { title: text(agreement, 'title'), body: text(agreement, 'body') };
}

function currentWording(agreement: Y.Map<unknown>): { title: string; body: string } {
  const t = texts(agreement);
  return { title: t.title?.toString() ?? '', body: t.body?.toString() ?? '' };
}

export interface EditAgreementInput {
  readonly agreementId: AgreementId;
  /** New full title; omitted = unchanged. Only the changed middle is replaced, so edits merge. */
  readonly title?: string;
  readonly body?: string;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

export function editAgreement(doc: Y.Doc, input: EditAgreementInput): void {
  const agreement = requireAgreement(doc, input.agreementId);
  const title =
    input.title === undefined
      ? undefined
      : requireText(input.title, 'Title', 1, Limits.agreementTitle);
  const body =
    input.body === undefined
      ? undefined
      : requireText(input.body, 'Agreement text', 0, Limits.agreementBody);
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  const t = texts(agreement);
  if ((title !== undefined && !t.title) || (body !== undefined && !t.body)) {
    throw new ModelError(ModelErrorCode.notFound, 'This agreement has no editable text.');
  }
  doc.transact(() => {
    if (title !== undefined) replaceText(t.title!, title);
    if (body !== undefined) replaceText(t.body!, body);
    agreement.set('lastEditedBy', by);
    agreement.set('lastEditedAt', at);
  }, Origin.editAgreement);
}

export interface AcceptAgreementInput {
  readonly agreementId: AgreementId;
  readonly partnerId: PartnerId;
  /**
   * The fingerprint of the wording the partner was shown (`AgreementSnapshot.fingerprint`).
   * If the wording changed since, this throws `stale-wording` and records nothing.
   */
  readonly fingerprint: string;
  readonly at: EpochMs;
}

export function acceptAgreement(doc: Y.Doc, input: AcceptAgreementInput): void {
  const agreement = requireAgreement(doc, input.agreementId);
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const at = requireEpochMs(input.at, 'at');
  if (typeof input.fingerprint !== 'string') {
    throw new ModelError(ModelErrorCode.invalidArgument, 'fingerprint must be text.');
  }
  const lifecycle = lifecycleOf(agreement);
  // Incomplete (a lifecycle change partly arrived): not shown, so not acceptable either.
  if (lifecycle === null) throw notFound('agreement', String(input.agreementId));
  if (lifecycle === AgreementLifecycle.retired) {
    throw new ModelError(ModelErrorCode.notAllowed, 'A retired agreement cannot be accepted.');
  }
  const wording = currentWording(agreement);
  const fingerprint = wordingFingerprint(wording.title, wording.body);
  if (input.fingerprint !== fingerprint) {
    throw new ModelError(
      ModelErrorCode.staleWording,
      'The agreement was changed after it was shown; read the new wording before accepting.',
    );
  }
  const acceptances = ymap(agreement, 'acceptances');
  const history = yarray(agreement, 'history');
  doc.transact(() => {
    let acc = acceptances;
    let hist = history;
    if (!acc) agreement.set('acceptances', (acc = new Y.Map<unknown>()));
    if (!hist) agreement.set('history', (hist = new Y.Array<unknown>()));
    acc.set(partnerId, { fingerprint, at });
    const entry: AcceptedWording = { ...wording, fingerprint, acceptedBy: partnerId, at };
    hist.push([entry]);
  }, Origin.acceptAgreement);
}

export interface SetAgreementLifecycleInput {
  readonly agreementId: AgreementId;
  /** `open` resumes a paused agreement (or brings back a retired one). */
  readonly lifecycle: AgreementLifecycle;
  /** Why, in the partner's words, for the other partner to read; blank = none given. */
  readonly reason?: string;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

export function setAgreementLifecycle(doc: Y.Doc, input: SetAgreementLifecycleInput): void {
  const agreement = requireAgreement(doc, input.agreementId);
  const lifecycle = requireOneOf(input.lifecycle, AgreementLifecycle, 'lifecycle');
  const reason = requireText(input.reason ?? '', 'Reason', 0, Limits.note).trim();
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  doc.transact(() => {
    setIfChanged(agreement, 'lifecycle', lifecycle);
    agreement.set('lifecycleBy', by);
    agreement.set('lifecycleAt', at);
    // A reason belongs to the change it came with; an earlier change's reason must not linger.
    if (reason !== '') setIfChanged(agreement, 'lifecycleReason', reason);
    else if (agreement.has('lifecycleReason')) agreement.delete('lifecycleReason');
  }, Origin.setAgreementLifecycle);
}

export interface LogKeepInput {
  readonly id?: KeepEntryId;
  readonly agreementId: AgreementId;
  /** Whose keeping is logged; the partner logs their own. */
  readonly partnerId: PartnerId;
  readonly date: IsoDate;
  readonly value: KeepValue;
  readonly note?: string;
  readonly at: EpochMs;
}

/** Logs (or corrects) one day. A correction appends; the earlier value stays visible. */
export function logKeep(
  doc: Y.Doc,
  input: LogKeepInput,
  newId: IdGenerator = randomId,
): KeepEntryId {
  const agreement = requireAgreement(doc, input.agreementId);
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const date = requireIsoDate(input.date, 'date');
  const value = requireOneOf(input.value, KeepValue, 'value');
  const note = requireText(input.note ?? '', 'Note', 0, Limits.note);
  const at = requireEpochMs(input.at, 'at');
  const log = yarray(agreement, 'keepLog');
  // A caller-chosen id is checked; a generated one is not: 132 random bits do not collide, and
  // scanning a five-year log on every entry would make each write cost more than the last.
  const id = freshId<KeepEntryId>(input.id, newId, 'Keep entry id', (i) =>
    input.id === undefined
      ? false
      : (log?.toArray() ?? []).some((e) => isRecord(e) && e['id'] === i),
  );
  doc.transact(() => {
    let target = log;
    if (!target) agreement.set('keepLog', (target = new Y.Array<unknown>()));
    target.push([{ id, date, partnerId, value, note, at }]);
  }, Origin.logKeep);
  return id;
}

// ---- reads

/**
 * Each partner's latest acceptance. A re-acceptance overwrites the partner's entry, so a replica
 * can hold the deletion of the old entry before the new one arrives (see SPEC.md, "Partial
 * delivery"); until then the partner's latest acceptance it holds in full is the last one in the
 * append-only history, which is what the deleted entry said.
 */
function acceptancesOf(
  agreement: Y.Map<unknown>,
  partners: readonly PartnerId[],
  history: readonly AcceptedWording[],
): Acceptance[] {
  const map = ymap(agreement, 'acceptances');
  const out: Acceptance[] = [];
  for (const partnerId of partners) {
    const a = map?.get(partnerId);
    if (isRecord(a) && typeof a['fingerprint'] === 'string' && typeof a['at'] === 'number') {
      out.push({ partnerId, fingerprint: a['fingerprint'], at: a['at'] });
      continue;
    }
    const last = history.findLast((h) => h.acceptedBy === partnerId);
    if (last) out.push({ partnerId, fingerprint: last.fingerprint, at: last.at });
  }
  return out;
}

function historyOf(agreement: Y.Map<unknown>): AcceptedWording[] {
  const out: AcceptedWording[] = [];
  for (const e of yarray(agreement, 'history')?.toArray() ?? []) {
    if (
      isRecord(e) &&
      typeof e['fingerprint'] === 'string' &&
      typeof e['title'] === 'string' &&
      typeof e['body'] === 'string' &&
      typeof e['acceptedBy'] === 'string' &&
      typeof e['at'] === 'number'
    ) {
      out.push({
        fingerprint: e['fingerprint'],
        title: e['title'],
        body: e['body'],
        acceptedBy: e['acceptedBy'] as PartnerId,
        at: e['at'],
      });
    }
  }
  return out;
}

const LIFECYCLES: readonly unknown[] = Object.values(AgreementLifecycle);

/** `null` while the lifecycle is missing: a change of it has only partly arrived. */
function lifecycleOf(agreement: Y.Map<unknown>): AgreementLifecycle | null {
  const l = agreement.get('lifecycle');
  return LIFECYCLES.includes(l) ? (l as AgreementLifecycle) : null;
}

/** The status rule of SPEC.md, in one place. */
function deriveStatus(
  lifecycle: AgreementLifecycle,
  partners: readonly PartnerId[],
  fingerprint: string,
  acceptances: readonly Acceptance[],
  history: readonly AcceptedWording[],
): AgreementStatus {
  switch (lifecycle) {
    case AgreementLifecycle.retired:
      return AgreementStatus.retired;
    case AgreementLifecycle.paused:
      return AgreementStatus.paused;
    case AgreementLifecycle.open:
      break;
    default: {
      const unreachable: never = lifecycle;
      return unreachable;
    }
  }
  if (partners.length < MAX_PARTNERS) return AgreementStatus.proposed;
  const acceptedCurrent = acceptances.filter((a) => a.fingerprint === fingerprint).length;
  if (acceptedCurrent === partners.length) return AgreementStatus.active;
  return wordingInForce(partners, history) ? AgreementStatus.changed : AgreementStatus.proposed;
}

/**
 * The latest wording both partners accepted (latest in the history's order, which every replica
 * shares): it stays in force while an edit after it is only a proposed change, until both
 * accept that change, which then becomes the wording in force. Derived, never stored, so it
 * converges with the history and older documents read it too.
 */
function wordingInForce(
  partners: readonly PartnerId[],
  history: readonly AcceptedWording[],
): AgreedWording | null {
  if (partners.length < MAX_PARTNERS) return null;
  const agreed = history.findLast((h) =>
    partners.every((p) =>
      history.some((o) => o.acceptedBy === p && o.fingerprint === h.fingerprint),
    ),
  );
  return agreed
    ? { title: agreed.title, body: agreed.body, fingerprint: agreed.fingerprint }
    : null;
}

/**
 * The agreement as a snapshot, or `null` while it is incomplete: its texts, creator or lifecycle
 * are missing (a lifecycle change whose deletion of the old value arrived before the new value;
 * see SPEC.md, "Partial delivery"). It reappears as soon as the rest arrives.
 */
function snapshot(
  doc: Y.Doc,
  id: AgreementId,
  agreement: Y.Map<unknown>,
): AgreementSnapshot | null {
  const lifecycle = lifecycleOf(agreement);
  const t = texts(agreement);
  const createdBy = strOrNull(agreement, 'createdBy') as PartnerId | null;
  const createdAt = numOrNull(agreement, 'createdAt');
  if (lifecycle === null || !t.title || !t.body || createdBy === null || createdAt === null) {
    return null;
  }
  const partners = partnerIds(doc);
  const wording = { title: t.title.toString(), body: t.body.toString() };
  const fingerprint = wordingFingerprint(wording.title, wording.body);
  const history = historyOf(agreement);
  const acceptances = acceptancesOf(agreement, partners, history);
  return {
    id,
    ...wording,
    createdBy,
    proposedBy: (strOrNull(agreement, 'proposedBy') ?? createdBy) as PartnerId,
    createdAt,
    lifecycle,
    lifecycleChangedBy: strOrNull(agreement, 'lifecycleBy') as PartnerId | null,
    lifecycleChangedAt: numOrNull(agreement, 'lifecycleAt'),
    lifecycleReason: strOrNull(agreement, 'lifecycleReason'),
    lastEditedBy: strOrNull(agreement, 'lastEditedBy') as PartnerId | null,
    lastEditedAt: numOrNull(agreement, 'lastEditedAt'),
    fingerprint,
    status: deriveStatus(lifecycle, partners, fingerprint, acceptances, history),
    acceptances,
    acceptedCurrentBy: acceptances
      .filter((a) => a.fingerprint === fingerprint)
      .map((a) => a.partnerId),
    history,
    inForce: wordingInForce(partners, history),
  };
}

export function getAgreement(doc: Y.Doc, agreementId: AgreementId): AgreementSnapshot | null {
  const agreement = roots(doc).agreements.get(agreementId);
  return agreement instanceof Y.Map ? snapshot(doc, agreementId, agreement) : null;
}

/** All agreements, oldest first; one that has only partly arrived is left out until it has. */
export function listAgreements(doc: Y.Doc): AgreementSnapshot[] {
  const out: AgreementSnapshot[] = [];
  for (const [id, a] of roots(doc).agreements.entries()) {
    const s = a instanceof Y.Map ? snapshot(doc, id as AgreementId, a) : null;
    if (s) out.push(s);
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

export function agreementStatus(doc: Y.Doc, agreementId: AgreementId): AgreementStatus {
  const s = snapshot(doc, agreementId, requireAgreement(doc, agreementId));
  if (!s) throw notFound('agreement', agreementId);
  return s.status;
}

/** The live `Y.Text`s for co-editing. Wrap local typing in `doc.transact(fn, Origin.liveEdit)`. */
export function agreementTexts(
  doc: Y.Doc,
  agreementId: AgreementId,
): { readonly title: Y.Text; readonly body: Y.Text } {
  const t = texts(requireAgreement(doc, agreementId));
  if (!t.title || !t.body) {
    throw new ModelError(ModelErrorCode.notFound, 'This agreement has no editable text.');
  }
  return { title: t.title, body: t.body };
}

export interface KeepLogQuery {
  readonly agreementId: AgreementId;
  readonly partnerId?: PartnerId;
  /** Inclusive bounds, YYYY-MM-DD. */
  readonly from?: IsoDate;
  readonly to?: IsoDate;
}

const KEEP_VALUES: readonly unknown[] = Object.values(KeepValue);

/** The log's well-formed entries that match the query, in log order. */
function keepEntries(agreement: Y.Map<unknown>, query: KeepLogQuery): KeepEntry[] {
  const out: KeepEntry[] = [];
  for (const e of yarray(agreement, 'keepLog')?.toArray() ?? []) {
    // Filter on the raw record first: a five-year log is long and most of it is outside a window.
    if (!isRecord(e)) continue;
    const date = e['date'];
    const partnerId = e['partnerId'];
    if (typeof date !== 'string' || typeof partnerId !== 'string') continue;
    if (query.partnerId !== undefined && partnerId !== query.partnerId) continue;
    if (query.from !== undefined && date < query.from) continue;
    if (query.to !== undefined && date > query.to) continue;
    if (typeof e['id'] !== 'string' || !KEEP_VALUES.includes(e['value'])) continue;
    if (typeof e['at'] !== 'number') continue;
    out.push({
      id: e['id'] as KeepEntryId,
      agreementId: query.agreementId,
      date,
      partnerId: partnerId as PartnerId,
      value: e['value'] as KeepValue,
      note: typeof e['note'] === 'string' ? e['note'] : '',
      at: e['at'],
    });
  }
  return out;
}

/**
 * One row per (date, partner) that has entries, sorted by date then partner. The current entry
 * is the last in log order: a correction is appended after the value it corrects.
 */
export function keepLog(doc: Y.Doc, query: KeepLogQuery): KeepLogDay[] {
  const agreement = requireAgreement(doc, query.agreementId);
  if (query.from !== undefined) requireIsoDate(query.from, 'from');
  if (query.to !== undefined) requireIsoDate(query.to, 'to');
  const days = new Map<string, KeepEntry[]>();
  for (const entry of keepEntries(agreement, query)) {
    const key = `${entry.date}:${entry.partnerId}`;
    const list = days.get(key);
    if (list) list.push(entry);
    else days.set(key, [entry]);
  }
  return [...days.values()]
    .map((entries) => {
      const current = entries[entries.length - 1]!;
      return {
        agreementId: query.agreementId,
        date: current.date,
        partnerId: current.partnerId,
        current,
        earlier: entries.slice(0, -1),
      };
    })
    .sort((a, b) =>
      a.date !== b.date ? (a.date < b.date ? -1 : 1) : a.partnerId < b.partnerId ? -1 : 1,
    );
}
