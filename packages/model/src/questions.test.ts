import { describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { ModelErrorCode } from './errors.js';
import type { AnswerId, QuestionId } from './ids.js';
import { Origin } from './origin.js';
import { Limits } from './schema.js';
import {
  addFollowUp,
  answerQuestion,
  answerText,
  askAgain,
  askAgainChain,
  askQuestion,
  closeQuestion,
  getQuestion,
  listQuestions,
  markQuestionRead,
  questionStatus,
  questionText,
  reopenQuestion,
  unreadFor,
} from './questions.js';
import {
  A,
  B,
  T0,
  codeOf,
  counterIds,
  originsOf,
  replicaOf,
  sync,
  twoPartnerSpace,
} from './testing/fixtures.js';

function ask(doc: Y.Doc, text = 'Where were you that night?') {
  return askQuestion(doc, { text, by: A, at: T0 }, counterIds('question'));
}

describe('asking and answering', () => {
  it('a new question is open, with its live text and who asked when', () => {
    const doc = twoPartnerSpace();
    let id = '' as QuestionId;
    expect(originsOf(doc, () => (id = ask(doc)))).toEqual([Origin.askQuestion]);
    expect(getQuestion(doc, id)).toMatchObject({
      text: 'Where were you that night?',
      askedBy: A,
      askedAt: T0,
      status: 'open',
      askAgainOf: null,
      thread: [],
    });
    expect(questionText(doc, id).toString()).toBe('Where were you that night?');
  });

  it('an answer appends to the thread and makes the question answered', () => {
    const doc = twoPartnerSpace();
    const id = ask(doc);
    let answerId = '' as AnswerId;
    expect(
      originsOf(
        doc,
        () =>
          (answerId = answerQuestion(doc, { questionId: id, text: 'At work.', by: B, at: T0 + 1 })),
      ),
    ).toEqual([Origin.answerQuestion]);
    const q = getQuestion(doc, id)!;
    expect(q.status).toBe('answered');
    expect(q.thread).toEqual([
      { id: answerId, kind: 'answer', by: B, at: T0 + 1, text: 'At work.' },
    ]);
    expect(answerText(doc, id, answerId).toString()).toBe('At work.');
  });

  it('a follow-up makes it need a follow-up answer; the next answer makes it answered again', () => {
    const doc = twoPartnerSpace();
    const id = ask(doc);
    answerQuestion(doc, { questionId: id, text: 'At work.', by: B, at: T0 + 1 });
    expect(
      originsOf(doc, () =>
        addFollowUp(doc, { questionId: id, text: 'Until when?', by: A, at: T0 + 2 }),
      ),
    ).toEqual([Origin.addFollowUp]);
    expect(questionStatus(doc, id)).toBe('needs-follow-up');
    answerQuestion(doc, { questionId: id, text: 'Until ten.', by: B, at: T0 + 3 });
    expect(questionStatus(doc, id)).toBe('answered');
    expect(getQuestion(doc, id)!.thread.map((i) => i.kind)).toEqual([
      'answer',
      'follow-up',
      'answer',
    ]);
  });

  it('closing wins over the thread; a closed question takes no answers until reopened', () => {
    const doc = twoPartnerSpace();
    const id = ask(doc);
    expect(originsOf(doc, () => closeQuestion(doc, { questionId: id, by: A, at: T0 + 5 }))).toEqual(
      [Origin.closeQuestion],
    );
    expect(getQuestion(doc, id)).toMatchObject({ status: 'closed', closedBy: A, closedAt: T0 + 5 });
    expect(codeOf(() => answerQuestion(doc, { questionId: id, text: 'x', by: B, at: T0 }))).toBe(
      ModelErrorCode.notAllowed,
    );
    reopenQuestion(doc, { questionId: id, by: A, at: T0 + 6 });
    expect(getQuestion(doc, id)).toMatchObject({ status: 'open', closedBy: null, closedAt: null });
  });

  it('answers from two devices at once are both kept, in the same order on both', () => {
    const doc = twoPartnerSpace();
    const id = ask(doc);
    const other = replicaOf(doc);
    answerQuestion(doc, { questionId: id, text: 'first device', by: B, at: T0 + 1 });
    answerQuestion(other, { questionId: id, text: 'second device', by: B, at: T0 + 1 });
    sync(doc, other);
    const texts = getQuestion(doc, id)!.thread.map((i) => i.text);
    expect(texts.sort()).toEqual(['first device', 'second device']);
    expect(getQuestion(other, id)!.thread).toEqual(getQuestion(doc, id)!.thread);
  });

  it('refuses empty text, unknown question, unknown partner and over-long answers', () => {
    const doc = twoPartnerSpace();
    const id = ask(doc);
    expect(codeOf(() => askQuestion(doc, { text: '', by: A, at: T0 }))).toBe(
      ModelErrorCode.invalidArgument,
    );
    expect(
      codeOf(() => askQuestion(doc, { text: 'x'.repeat(Limits.questionText + 1), by: A, at: T0 })),
    ).toBe(ModelErrorCode.invalidArgument);
    expect(
      codeOf(() =>
        answerQuestion(doc, {
          questionId: 'missingMISSINGmissing' as QuestionId,
          text: 'x',
          by: B,
          at: T0,
        }),
      ),
    ).toBe(ModelErrorCode.notFound);
    expect(
      codeOf(() =>
        answerQuestion(doc, { questionId: id, text: 'x'.repeat(20_001), by: B, at: T0 }),
      ),
    ).toBe(ModelErrorCode.invalidArgument);
    expect(getQuestion(doc, id)!.thread).toEqual([]);
  });
});

describe('asking again', () => {
  it('links a new question to the earlier one so both can be read side by side', () => {
    const doc = twoPartnerSpace();
    const first = ask(doc);
    answerQuestion(doc, { questionId: first, text: 'At work.', by: B, at: T0 + 1 });
    const second = askAgain(
      doc,
      { questionId: first, by: A, at: T0 + 100 },
      counterIds('againqstn'),
    );
    const third = askAgain(doc, { questionId: second, text: 'Once more?', by: A, at: T0 + 200 });
    expect(getQuestion(doc, second)).toMatchObject({
      askAgainOf: first,
      text: 'Where were you that night?',
    });
    expect(askAgainChain(doc, third).map((q) => q.id)).toEqual([first, second, third]);
    expect(askAgainChain(doc, first).map((q) => q.id)).toEqual([first, second, third]);
  });

  it('refuses to link to a question that does not exist', () => {
    const doc = twoPartnerSpace();
    expect(
      codeOf(() =>
        askQuestion(doc, {
          text: 'x',
          by: A,
          at: T0,
          askAgainOf: 'missingMISSINGmissing' as QuestionId,
        }),
      ),
    ).toBe(ModelErrorCode.notFound);
    expect(listQuestions(doc)).toEqual([]);
  });
});

describe('read markers', () => {
  it('a question from the other partner is unread until opened; new answers are unread for the asker', () => {
    const doc = twoPartnerSpace();
    const id = ask(doc);
    expect(unreadFor(doc, id, B)).toEqual({ questionUnread: true, items: 0 });
    expect(unreadFor(doc, id, A)).toEqual({ questionUnread: false, items: 0 });
    expect(
      originsOf(doc, () => markQuestionRead(doc, { questionId: id, partnerId: B, at: T0 + 1 })),
    ).toEqual([Origin.markQuestionRead]);
    expect(unreadFor(doc, id, B)).toEqual({ questionUnread: false, items: 0 });
    answerQuestion(doc, { questionId: id, text: 'At work.', by: B, at: T0 + 2 });
    expect(unreadFor(doc, id, A).items).toBe(1);
    expect(unreadFor(doc, id, B).items).toBe(0);
    markQuestionRead(doc, { questionId: id, partnerId: A, at: T0 + 3 });
    expect(unreadFor(doc, id, A).items).toBe(0);
    expect(getQuestion(doc, id)!.readUpTo).toEqual({ [A]: 1, [B]: 1 });
  });

  it('marking read again with nothing new writes nothing', () => {
    const doc = twoPartnerSpace();
    const id = ask(doc);
    expect(markQuestionRead(doc, { questionId: id, partnerId: B, at: T0 })).toBe(true);
    expect(
      originsOf(doc, () => markQuestionRead(doc, { questionId: id, partnerId: B, at: T0 })),
    ).toEqual([]);
  });

  it('an answer that arrives concurrently with marking read stays unread', () => {
    const doc = twoPartnerSpace();
    const id = ask(doc);
    answerQuestion(doc, { questionId: id, text: 'one', by: B, at: T0 + 1 });
    const other = replicaOf(doc);
    markQuestionRead(doc, { questionId: id, partnerId: A, at: T0 + 2 });
    answerQuestion(other, { questionId: id, text: 'two', by: B, at: T0 + 2 });
    sync(doc, other);
    expect(unreadFor(doc, id, A).items).toBe(1);
  });
});
