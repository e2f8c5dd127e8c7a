import * as Y from 'yjs';
import { ModelError, ModelErrorCode } from './errors.js';
import {
  randomId,
  type AnswerId,
  type IdGenerator,
  type PartnerId,
  type QuestionId,
} from './ids.js';
import { Origin } from './origin.js';
import {
  Limits,
  QuestionStatus,
  ThreadItemKind,
  type EpochMs,
  type QuestionSnapshot,
  type ThreadItem,
} from './schema.js';
import {
  isRecord,
  notFound,
  num,
  numOrNull,
  partnerIds,
  requireInitialised,
  requirePartner,
  roots,
  str,
  strOrNull,
  text,
  yarray,
  ymap,
} from './store.js';
import { freshId, requireEpochMs, requireText } from './validate.js';

export interface AskQuestionInput {
  readonly id?: QuestionId;
  readonly text: string;
  readonly by: PartnerId;
  readonly at: EpochMs;
  /** Links this question to an earlier one, so both threads can be read side by side. */
  readonly askAgainOf?: QuestionId;
}

function requireQuestion(doc: Y.Doc, id: unknown): Y.Map<unknown> {
  const question = typeof id === 'string' ? roots(doc).questions.get(id) : undefined;
  if (!(question instanceof Y.Map)) throw notFound('question', String(id));
  return question;
}

export function askQuestion(
  doc: Y.Doc,
  input: AskQuestionInput,
  newId: IdGenerator = randomId,
): QuestionId {
  requireInitialised(doc);
  const body = requireText(input.text, 'Question', 1, Limits.questionText);
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  if (input.askAgainOf !== undefined) requireQuestion(doc, input.askAgainOf);
  const questions = roots(doc).questions;
  const id = freshId<QuestionId>(input.id, newId, 'Question id', (i) => questions.has(i));
  doc.transact(() => {
    const question = new Y.Map<unknown>();
    question.set('id', id);
    question.set('text', new Y.Text(body));
    question.set('askedBy', by);
    question.set('askedAt', at);
    question.set('status', QuestionStatus.open);
    if (input.askAgainOf !== undefined) question.set('askAgainOf', input.askAgainOf);
    question.set('answers', new Y.Array<Y.Map<unknown>>());
    question.set('readMarkers', new Y.Map<unknown>());
    questions.set(id, question);
  }, Origin.askQuestion);
  return id;
}

export interface AskAgainInput {
  readonly id?: QuestionId;
  readonly questionId: QuestionId;
  /** Defaults to the earlier question's text. */
  readonly text?: string;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

/** A new question linked to `questionId` (same as `askQuestion` with `askAgainOf`). */
export function askAgain(
  doc: Y.Doc,
  input: AskAgainInput,
  newId: IdGenerator = randomId,
): QuestionId {
  const earlier = requireQuestion(doc, input.questionId);
  return askQuestion(
    doc,
    {
      ...(input.id === undefined ? {} : { id: input.id }),
      text: input.text ?? text(earlier, 'text')?.toString() ?? '',
      by: input.by,
      at: input.at,
      askAgainOf: input.questionId,
    },
    newId,
  );
}

export interface ThreadItemInput {
  readonly id?: AnswerId;
  readonly questionId: QuestionId;
  readonly text: string;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

function threadItems(question: Y.Map<unknown>): ThreadItem[] {
  const out: ThreadItem[] = [];
  for (const item of yarray(question, 'answers')?.toArray() ?? []) {
    if (!(item instanceof Y.Map)) continue;
    const m = item as Y.Map<unknown>;
    out.push({
      id: str(m, 'id') as AnswerId,
      kind:
        m.get('kind') === ThreadItemKind.followUp ? ThreadItemKind.followUp : ThreadItemKind.answer,
      by: str(m, 'by') as PartnerId,
      at: num(m, 'at'),
      text: text(m, 'text')?.toString() ?? '',
    });
  }
  return out;
}

/** The status rule of SPEC.md: closed wins; otherwise the last thread item decides. */
function deriveStatus(question: Y.Map<unknown>): QuestionStatus {
  if (numOrNull(question, 'closedAt') !== null) return QuestionStatus.closed;
  const items = threadItems(question);
  const last = items[items.length - 1];
  if (!last) return QuestionStatus.open;
  switch (last.kind) {
    case ThreadItemKind.answer:
      return QuestionStatus.answered;
    case ThreadItemKind.followUp:
      return QuestionStatus.needsFollowUp;
    default: {
      const unreachable: never = last.kind;
      return unreachable;
    }
  }
}

interface Marker {
  readonly at: EpochMs;
  readonly items: readonly AnswerId[];
}

function markerOf(question: Y.Map<unknown>, partnerId: string): Marker | null {
  const m = ymap(question, 'readMarkers')?.get(partnerId);
  if (!isRecord(m) || typeof m['at'] !== 'number' || !Array.isArray(m['items'])) return null;
  return { at: m['at'], items: m['items'].filter((i): i is AnswerId => typeof i === 'string') };
}

/** Call inside a transaction: marks every current thread item seen by `partnerId`. */
function writeMarker(question: Y.Map<unknown>, partnerId: PartnerId, at: EpochMs): void {
  let markers = ymap(question, 'readMarkers');
  if (!markers) question.set('readMarkers', (markers = new Y.Map<unknown>()));
  const seen = new Set(markerOf(question, partnerId)?.items ?? []);
  for (const item of threadItems(question)) seen.add(item.id);
  markers.set(partnerId, { at, items: [...seen] });
}

function appendItem(
  doc: Y.Doc,
  kind: ThreadItemKind,
  input: ThreadItemInput,
  newId: IdGenerator,
): AnswerId {
  const question = requireQuestion(doc, input.questionId);
  const body = requireText(
    input.text,
    kind === ThreadItemKind.answer ? 'Answer' : 'Follow-up',
    1,
    Limits.answerText,
  );
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  if (numOrNull(question, 'closedAt') !== null) {
    throw new ModelError(
      ModelErrorCode.notAllowed,
      'This question is closed; reopen it to add to the conversation.',
    );
  }
  const id = freshId<AnswerId>(input.id, newId, 'Answer id', (i) =>
    threadItems(question).some((item) => item.id === i),
  );
  doc.transact(
    () => {
      let answers = yarray(question, 'answers');
      if (!answers) question.set('answers', (answers = new Y.Array<unknown>()));
      const item = new Y.Map<unknown>();
      item.set('id', id);
      item.set('kind', kind);
      item.set('by', by);
      item.set('at', at);
      item.set('text', new Y.Text(body));
      answers.push([item]);
      question.set('status', deriveStatus(question));
      writeMarker(question, by, at);
    },
    kind === ThreadItemKind.answer ? Origin.answerQuestion : Origin.addFollowUp,
  );
  return id;
}

/** Appends an answer to the thread. The author's read marker moves past it. */
export function answerQuestion(
  doc: Y.Doc,
  input: ThreadItemInput,
  newId: IdGenerator = randomId,
): AnswerId {
  return appendItem(doc, ThreadItemKind.answer, input, newId);
}

/** Appends a follow-up question to the thread; the question then needs a follow-up answer. */
export function addFollowUp(
  doc: Y.Doc,
  input: ThreadItemInput,
  newId: IdGenerator = randomId,
): AnswerId {
  return appendItem(doc, ThreadItemKind.followUp, input, newId);
}

export interface QuestionActionInput {
  readonly questionId: QuestionId;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

export interface CloseQuestionInput extends QuestionActionInput {
  /** Why, in the partner's words, for the other partner to read; blank = none given. */
  readonly reason?: string;
}

export function closeQuestion(doc: Y.Doc, input: CloseQuestionInput): void {
  const question = requireQuestion(doc, input.questionId);
  const reason = requireText(input.reason ?? '', 'Reason', 0, Limits.note).trim();
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  // Closing a closed question keeps the first close. Rewriting it would delete `closedAt`, and
  // a replica that gets that deletion before the new value (SPEC.md, "Partial delivery") would
  // show the question open, and take answers, until the rest arrived.
  if (numOrNull(question, 'closedAt') !== null) return;
  doc.transact(() => {
    question.set('closedBy', by);
    question.set('closedAt', at);
    if (reason !== '') question.set('closedReason', reason);
    else if (question.has('closedReason')) question.delete('closedReason');
    question.set('status', QuestionStatus.closed);
  }, Origin.closeQuestion);
}

export function reopenQuestion(doc: Y.Doc, input: QuestionActionInput): void {
  const question = requireQuestion(doc, input.questionId);
  requirePartner(doc, input.by, 'by');
  requireEpochMs(input.at, 'at');
  doc.transact(() => {
    question.delete('closedBy');
    question.delete('closedAt');
    if (question.has('closedReason')) question.delete('closedReason');
    question.set('status', deriveStatus(question));
  }, Origin.reopenQuestion);
}

export interface MarkQuestionReadInput {
  readonly questionId: QuestionId;
  readonly partnerId: PartnerId;
  readonly at: EpochMs;
}

/**
 * Marks everything currently in the thread as read by `partnerId`. Returns false (and writes
 * nothing) when there was nothing new to mark, so opening a thread repeatedly costs nothing.
 */
export function markQuestionRead(doc: Y.Doc, input: MarkQuestionReadInput): boolean {
  const question = requireQuestion(doc, input.questionId);
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const at = requireEpochMs(input.at, 'at');
  const marker = markerOf(question, partnerId);
  if (marker) {
    const seen = new Set(marker.items);
    if (threadItems(question).every((i) => seen.has(i.id))) return false;
  }
  doc.transact(() => writeMarker(question, partnerId, at), Origin.markQuestionRead);
  return true;
}

// ---- reads

function snapshot(doc: Y.Doc, id: QuestionId, question: Y.Map<unknown>): QuestionSnapshot {
  const thread = threadItems(question);
  const readUpTo: Partial<Record<PartnerId, number>> = {};
  const seenItems: Partial<Record<PartnerId, readonly AnswerId[]>> = {};
  for (const partnerId of partnerIds(doc)) {
    const marker = markerOf(question, partnerId);
    if (!marker) continue;
    const seen = new Set(marker.items);
    seenItems[partnerId] = thread.filter((i) => seen.has(i.id)).map((i) => i.id);
    let count = 0;
    while (count < thread.length && seen.has(thread[count]!.id)) count++;
    readUpTo[partnerId] = count;
  }
  return {
    id,
    text: text(question, 'text')?.toString() ?? '',
    askedBy: str(question, 'askedBy') as PartnerId,
    askedAt: num(question, 'askedAt'),
    status: deriveStatus(question),
    askAgainOf: strOrNull(question, 'askAgainOf') as QuestionId | null,
    closedBy: strOrNull(question, 'closedBy') as PartnerId | null,
    closedAt: numOrNull(question, 'closedAt'),
    closedReason: strOrNull(question, 'closedReason'),
    thread,
    readUpTo,
    seenItems,
  };
}

export function getQuestion(doc: Y.Doc, questionId: QuestionId): QuestionSnapshot | null {
  const question = roots(doc).questions.get(questionId);
  return question instanceof Y.Map ? snapshot(doc, questionId, question) : null;
}

/** All questions, oldest first. */
export function listQuestions(doc: Y.Doc): QuestionSnapshot[] {
  return [...roots(doc).questions.entries()]
    .filter(([, q]) => q instanceof Y.Map)
    .map(([id, q]) => snapshot(doc, id as QuestionId, q))
    .sort((a, b) => a.askedAt - b.askedAt || (a.id < b.id ? -1 : 1));
}

export function questionStatus(doc: Y.Doc, questionId: QuestionId): QuestionStatus {
  return deriveStatus(requireQuestion(doc, questionId));
}

/** The question's live text. */
export function questionText(doc: Y.Doc, questionId: QuestionId): Y.Text {
  const t = text(requireQuestion(doc, questionId), 'text');
  if (!t) throw new ModelError(ModelErrorCode.notFound, 'This question has no editable text.');
  return t;
}

/** An answer's (or follow-up's) live text, for its author to keep editing. */
export function answerText(doc: Y.Doc, questionId: QuestionId, answerId: AnswerId): Y.Text {
  const answers = yarray(requireQuestion(doc, questionId), 'answers')?.toArray() ?? [];
  for (const item of answers) {
    if (item instanceof Y.Map && item.get('id') === answerId) {
      const t = text(item as Y.Map<unknown>, 'text');
      if (t) return t;
    }
  }
  throw notFound('answer', answerId);
}

/** The chain of asks this question belongs to, earliest first (itself included). */
export function askAgainChain(doc: Y.Doc, questionId: QuestionId): QuestionSnapshot[] {
  requireQuestion(doc, questionId);
  const all = listQuestions(doc);
  const byId = new Map(all.map((q) => [q.id, q]));
  const rootOf = (q: QuestionSnapshot): QuestionId => {
    const visited = new Set<QuestionId>();
    let current = q;
    while (current.askAgainOf !== null && !visited.has(current.id)) {
      visited.add(current.id);
      const earlier = byId.get(current.askAgainOf);
      if (!earlier) break;
      current = earlier;
    }
    return current.id;
  };
  const root = rootOf(byId.get(questionId)!);
  return all.filter((q) => rootOf(q) === root);
}

export interface UnreadCount {
  /** True when the partner never opened a question the other partner asked. */
  readonly questionUnread: boolean;
  /** Thread items by the other partner that this partner has not seen. */
  readonly items: number;
}

export function unreadFor(doc: Y.Doc, questionId: QuestionId, partnerId: PartnerId): UnreadCount {
  return unreadIn(snapshot(doc, questionId, requireQuestion(doc, questionId)), partnerId);
}

/** `unreadFor` over a snapshot already in hand (the views read many questions at once). */
export function unreadIn(question: QuestionSnapshot, partnerId: PartnerId): UnreadCount {
  const seenItems = question.seenItems[partnerId];
  const seen = new Set(seenItems ?? []);
  return {
    questionUnread: seenItems === undefined && question.askedBy !== partnerId,
    items: question.thread.filter((i) => i.by !== partnerId && !seen.has(i.id)).length,
  };
}
