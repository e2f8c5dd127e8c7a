import type { PartnerId } from './ids.js';
import { hex32Bytes, opensCommitment, sealedBytes } from './revealBytes.js';
import type { RecordView } from './ruleSpecs.js';
import { Limits } from './schema.js';
import { epoch, id, checkRecord, textOf } from './valueChecks.js';

// The value checks and requirements of a reveal in the authorship rule table (authorshipRules.ts):
// what an answer, a published key and a follow-up may be, and what each must follow.

export const hiddenAnswer = (v: unknown): string | null =>
  checkRecord(
    v,
    {
      answerId: id,
      sealed: (s) => (sealedBytes(s) ? null : 'a sealed answer'),
      commitment: (c) => (hex32Bytes(c) ? null : 'a commitment'),
      at: epoch,
    },
    'a hidden answer { answerId, sealed, commitment, at }',
  );

export const publishedKey = (v: unknown): string | null =>
  checkRecord(
    v,
    { key: (k) => (hex32Bytes(k) ? null : 'a key'), at: epoch },
    'a published key { key, at }',
  );

export const revealFollowUp = (v: unknown): string | null =>
  checkRecord(
    v,
    { id, by: id, text: textOf(1, Limits.revealAnswer), at: epoch },
    'a follow-up { id, by, text, at }',
  );

/**
 * A key is published once both partners have answered, by its author, and it is the key their
 * answer's commitment was made for (so it never changes: a second device publishing it writes the
 * same key).
 */
export function keyAfterBothAnswered(
  value: unknown,
  reveal: RecordView,
  author: PartnerId,
): string | null {
  const answered = reveal.keys(['answers']);
  if (!answered.includes(author) || !answered.some((p) => p !== author)) {
    return 'a key published after both partners answered';
  }
  return opensCommitment(
    field(value, 'key'),
    field(reveal.value(['answers', author]), 'commitment'),
  )
    ? null
    : 'the key the answer was sealed with';
}

/** A follow-up is added after the reveal: both answers' keys are published. */
export function afterTheReveal(_value: unknown, reveal: RecordView): string | null {
  return reveal.keys(['keys']).length >= 2 ? null : 'a follow-up after the reveal';
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}
