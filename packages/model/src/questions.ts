import type * as Y from 'yjs';
import type { AnswerId, IdGenerator, PartnerId, QuestionId } from './ids.js';
import type { EpochMs, QuestionSnapshot, QuestionStatus } from './schema.js';

const todo = (): never => {
  throw new Error('not implemented yet');
};

export interface AskQuestionInput {
  readonly id?: QuestionId;
  readonly text: string;
  readonly by: PartnerId;
  readonly at: EpochMs;
  /** Links this question to an earlier one, so both threads can be read side by side. */
  readonly askAgainOf?: QuestionId;
}

export function askQuestion(
  _doc: Y.Doc,
  _input: AskQuestionInput,
  _newId?: IdGenerator,
): QuestionId {
  return todo();
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
export function askAgain(_doc: Y.Doc, _input: AskAgainInput, _newId?: IdGenerator): QuestionId {
  return todo();
}

export interface ThreadItemInput {
  readonly id?: AnswerId;
  readonly questionId: QuestionId;
  readonly text: string;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

/** Appends an answer to the thread. The author's read marker moves past it. */
export function answerQuestion(
  _doc: Y.Doc,
  _input: ThreadItemInput,
  _newId?: IdGenerator,
): AnswerId {
  return todo();
}

/** Appends a follow-up question to the thread; the question then needs a follow-up answer. */
export function addFollowUp(_doc: Y.Doc, _input: ThreadItemInput, _newId?: IdGenerator): AnswerId {
  return todo();
}

export interface QuestionActionInput {
  readonly questionId: QuestionId;
  readonly by: PartnerId;
  readonly at: EpochMs;
}

export function closeQuestion(_doc: Y.Doc, _input: QuestionActionInput): void {
  todo();
}

export function reopenQuestion(_doc: Y.Doc, _input: QuestionActionInput): void {
  todo();
}

export interface MarkQuestionReadInput {
  readonly questionId: QuestionId;
  readonly partnerId: PartnerId;
  readonly at: EpochMs;
}

/** Marks everything currently in the thread as read by `partnerId`. Never moves backwards. */
export function markQuestionRead(_doc: Y.Doc, _input: MarkQuestionReadInput): void {
  todo();
}

// ---- reads

export function getQuestion(_doc: Y.Doc, _questionId: QuestionId): QuestionSnapshot | null {
  return todo();
}

/** All questions, oldest first. */
export function listQuestions(_doc: Y.Doc): QuestionSnapshot[] {
  return todo();
}

export function questionStatus(_doc: Y.Doc, _questionId: QuestionId): QuestionStatus {
  return todo();
}

/** The question's live text. */
export function questionText(_doc: Y.Doc, _questionId: QuestionId): Y.Text {
  return todo();
}

/** An answer's (or follow-up's) live text, for its author to keep editing. */
export function answerText(_doc: Y.Doc, _questionId: QuestionId, _answerId: AnswerId): Y.Text {
  return todo();
}

/** The chain of asks this question belongs to, earliest first (itself included). */
export function askAgainChain(_doc: Y.Doc, _questionId: QuestionId): QuestionSnapshot[] {
  return todo();
}

export interface UnreadCount {
  /** True when the partner never opened a question the other partner asked. */
  readonly questionUnread: boolean;
  /** Thread items by the other partner that this partner has not seen. */
  readonly items: number;
}

export function unreadFor(
  _doc: Y.Doc,
  _questionId: QuestionId,
  _partnerId: PartnerId,
): UnreadCount {
  return todo();
}
