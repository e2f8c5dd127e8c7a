import { getReveal, openReveal, type PartnerId, type RevealId } from '@mend/model';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { revealStatusWords, revealsView, suggestedPrompts, waitingForMe } from './reveals.js';
import { ALEX, answerHidden, pairSpace, publishKey, SAM } from './testPair.js';

const T0 = Date.UTC(2026, 10, 1, 21, 0);
const space = () => pairSpace(T0);
const answer = (doc: Y.Doc, revealId: RevealId, by: PartnerId, at = T0) =>
  answerHidden(doc, revealId, by, at);
const publish = (doc: Y.Doc, revealId: RevealId, by: PartnerId) =>
  publishKey(doc, revealId, by, T0);

describe('answering together, in words', () => {
  it('says where a reveal stands for each partner, never more than whether an answer exists', () => {
    const doc = space();
    const { id } = openReveal(doc, { prompt: 'What helped?', createdBy: ALEX, at: T0 });
    const words = (me: PartnerId, other: string) =>
      revealStatusWords(getReveal(doc, id)!, me, other);
    expect(words(ALEX, 'Sam')).toBe('Neither of you has answered yet.');
    answer(doc, id, ALEX);
    expect(words(ALEX, 'Sam')).toBe('You have answered. Sam has not answered yet.');
    expect(words(SAM, 'Alex')).toBe('Alex has answered; your answer reveals both.');
    answer(doc, id, SAM, T0 + 86_400_000);
    expect(words(SAM, 'Alex')).toBe(
      "You have both answered. Both answers appear once Alex's device is online.",
    );
    publish(doc, id, ALEX);
    expect(words(SAM, 'Alex')).toBe('You have both answered. Both answers appear in a moment.');
    publish(doc, id, SAM);
    expect(words(ALEX, 'Sam')).toBe('Both answers are here.');
  });

  it('lists reveals newest first, and those waiting for this partner’s answer', () => {
    const doc = space();
    const first = openReveal(doc, { prompt: 'First', createdBy: ALEX, at: T0 });
    const second = openReveal(doc, { prompt: 'Second', createdBy: SAM, at: T0 + 1000 });
    const view = revealsView(doc);
    expect(view.current.map((r) => r.prompt)).toEqual(['Second', 'First']);
    answer(doc, first.id, ALEX);
    const now = revealsView(doc).current;
    expect(waitingForMe(now, ALEX).map((r) => r.id)).toEqual([second.id]);
    expect(waitingForMe(now, SAM).map((r) => r.id)).toEqual([second.id, first.id]);
    answer(doc, first.id, SAM);
    expect(waitingForMe(revealsView(doc).current, SAM).map((r) => r.id)).toEqual([second.id]);
  });

  it('offers suggested prompts the model accepts', () => {
    const doc = space();
    for (const prompt of suggestedPrompts) {
      expect(openReveal(doc, { prompt, createdBy: SAM, at: T0 }).prompt).toBe(prompt);
    }
  });

  it('reads a space that is not set up yet as no reveals', () => {
    expect(revealsView(new Y.Doc()).current).toEqual([]);
  });
});
