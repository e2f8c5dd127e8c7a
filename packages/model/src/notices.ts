import * as Y from 'yjs';
import type { AgreementId, PartnerId, QuestionId } from './ids.js';
import { Origin } from './origin.js';
import { AgreementLifecycle, type EpochMs, type PartnerChange } from './schema.js';
import { notFound, numOrNull, requirePartner, roots, strOrNull, text } from './store.js';

/*
 * A change one partner makes to a shared thing (pausing, retiring or resuming an agreement,
 * closing a question) is shown to the other partner until they have seen it. Only two partners
 * share a space, so the one who did not make the change is the only reader: one field per thing
 * (`lifecycleSeenAt`, `closedSeenAt`) holds the time of the change they saw. A later change has
 * another time, so it shows again.
 */

const LIFECYCLES: readonly unknown[] = Object.values(AgreementLifecycle);

/** What the other partner changed that `partnerId` has not seen yet, oldest first. */
export function changesToSee(doc: Y.Doc, partnerId: PartnerId): PartnerChange[] {
  requirePartner(doc, partnerId, 'partnerId');
  const out: PartnerChange[] = [];
  for (const [id, agreement] of roots(doc).agreements.entries()) {
    if (!(agreement instanceof Y.Map)) continue;
    const by = strOrNull(agreement, 'lifecycleBy') as PartnerId | null;
    const at = numOrNull(agreement, 'lifecycleAt');
    const lifecycle = agreement.get('lifecycle');
    if (by === null || at === null || by === partnerId || !LIFECYCLES.includes(lifecycle)) continue;
    if (numOrNull(agreement, 'lifecycleSeenAt') === at) continue;
    out.push({
      kind: 'agreement',
      agreementId: id as AgreementId,
      title: text(agreement, 'title')?.toString() ?? '',
      lifecycle: lifecycle as AgreementLifecycle,
      by,
      at,
      reason: strOrNull(agreement, 'lifecycleReason'),
    });
  }
  for (const [id, question] of roots(doc).questions.entries()) {
    if (!(question instanceof Y.Map)) continue;
    const by = strOrNull(question, 'closedBy') as PartnerId | null;
    const at = numOrNull(question, 'closedAt');
    if (by === null || at === null || by === partnerId) continue;
    if (numOrNull(question, 'closedSeenAt') === at) continue;
    out.push({
      kind: 'question',
      questionId: id as QuestionId,
      text: text(question, 'text')?.toString() ?? '',
      by,
      at,
      reason: strOrNull(question, 'closedReason'),
    });
  }
  return out.sort((a, b) => a.at - b.at || (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
}

function idOf(change: PartnerChange): string {
  return change.kind === 'agreement' ? change.agreementId : change.questionId;
}

export interface MarkChangeSeenInput {
  /** A change as `changesToSee` returned it. */
  readonly change: PartnerChange;
  readonly partnerId: PartnerId;
}

/**
 * Records that `partnerId` saw `change`. Returns false (and writes nothing) when it was already
 * seen, or when the change is the partner's own.
 */
export function markChangeSeen(doc: Y.Doc, input: MarkChangeSeenInput): boolean {
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const change = input.change;
  const [map, field] =
    change.kind === 'agreement'
      ? [roots(doc).agreements.get(change.agreementId), 'lifecycleSeenAt']
      : [roots(doc).questions.get(change.questionId), 'closedSeenAt'];
  if (!(map instanceof Y.Map)) throw notFound(change.kind, idOf(change));
  const at: EpochMs = change.at;
  if (change.by === partnerId || numOrNull(map, field) === at) return false;
  doc.transact(() => map.set(field, at), Origin.markChangeSeen);
  return true;
}
