import * as Y from 'yjs';
import { ModelError, ModelErrorCode } from './errors.js';
import { randomId, type AnswerId, type IdGenerator, type PartnerId, type RevealId } from './ids.js';
import { Origin } from './origin.js';
import {
  ANSWER_KEY_BYTES,
  hex32,
  hex32Bytes,
  isSealedAnswerLength,
  opensCommitment,
  answerKeyCommitment,
  sealedBytes,
  sealedText,
} from './revealBytes.js';
import {
  Limits,
  REVEAL_KIND_PATTERN,
  RevealAnswerStatus,
  type EpochMs,
  type HiddenAnswerSnapshot,
  type RevealFollowUp,
  type RevealPartnerView,
  type RevealSnapshot,
} from './schema.js';
import {
  isRecord,
  notFound,
  partnerIds,
  requireInitialised,
  requirePartner,
  roots,
  yarray,
  ymap,
} from './store.js';
import {
  codePoints,
  freshId,
  isEpochMs,
  requireEpochMs,
  requireId,
  requireText,
} from './validate.js';
import { isId } from './ids.js';

/*
 * Answers revealed together (SPEC.md, Reveals). Both partners answer one prompt; each answer is
 * sealed by its author's device with a key only that partner's devices hold (@mend/sealed), and
 * the document keeps the ciphertext and the key's SHA-256. Once both have answered, each
 * author's device publishes its key, and every device can read both. The model enforces the
 * order and that nothing written changes; the hiding itself is the keys'.
 */

function invalid(message: string): ModelError {
  return new ModelError(ModelErrorCode.invalidArgument, message);
}

function notAllowed(message: string): ModelError {
  return new ModelError(ModelErrorCode.notAllowed, message);
}

export interface OpenRevealInput {
  readonly id?: RevealId;
  /** What both partners will answer. */
  readonly prompt: string;
  /** The practice that opened it ('after-a-fight'...), `REVEAL_KIND_PATTERN`; none for a plain prompt. */
  readonly kind?: string;
  readonly createdBy: PartnerId;
  readonly at: EpochMs;
}

/** A prompt both partners will answer, each without seeing the other's answer until both have. */
export function openReveal(
  doc: Y.Doc,
  input: OpenRevealInput,
  newId: IdGenerator = randomId,
): RevealSnapshot {
  requireInitialised(doc);
  const createdBy = requirePartner(doc, input.createdBy, 'createdBy');
  const prompt = requireText(input.prompt, 'The prompt', 1, Limits.revealPrompt);
  if (input.kind !== undefined && !isRevealKind(input.kind)) {
    throw invalid('A reveal kind is a short tag: lowercase letters, digits and dashes.');
  }
  const at = requireEpochMs(input.at, 'at');
  const reveals = roots(doc).reveals;
  const id = freshId<RevealId>(input.id, newId, 'Reveal id', (i) => reveals.has(i));
  doc.transact(
    () => writeReveal(doc, { id, prompt, kind: input.kind ?? null, createdBy, at }),
    Origin.openReveal,
  );
  return getReveal(doc, id)!;
}

/**
 * Writes a reveal whose fields are checked already, inside the caller's transaction: for
 * `openReveal`, and for a practice that opens reveals as part of its own write (a repair).
 */
export function writeReveal(
  doc: Y.Doc,
  fields: {
    readonly id: RevealId;
    readonly prompt: string;
    readonly kind: string | null;
    readonly createdBy: PartnerId;
    readonly at: EpochMs;
  },
): void {
  const entry = new Y.Map<unknown>();
  entry.set('id', fields.id);
  entry.set('prompt', fields.prompt);
  // Written even when there is none, so it cannot be added once the reveal is open.
  entry.set('kind', fields.kind);
  entry.set('createdBy', fields.createdBy);
  entry.set('createdAt', fields.at);
  // Created with the reveal, so no device ever creates them lazily (and concurrently).
  entry.set('answers', new Y.Map<unknown>());
  entry.set('keys', new Y.Map<unknown>());
  entry.set('followUps', new Y.Array<unknown>());
  roots(doc).reveals.set(fields.id, entry);
}

export function isRevealKind(value: unknown): value is string {
  return typeof value === 'string' && REVEAL_KIND_PATTERN.test(value);
}

export interface SubmitHiddenAnswerInput {
  readonly revealId: RevealId;
  /** The author: the answer is theirs, sealed with a key only their devices hold. */
  readonly partnerId: PartnerId;
  /** Bound into the answer's key and its sealing (@mend/sealed `sealRevealAnswer`). */
  readonly answerId: AnswerId;
  /** The sealed answer, as @mend/sealed makes it. */
  readonly sealed: Uint8Array;
  /** SHA-256 of the answer's key (`answerKeyCommitment`). */
  readonly commitment: Uint8Array;
  readonly at: EpochMs;
}

/**
 * A partner's hidden answer, once per partner per reveal: it is never changed or taken back
 * (`not-allowed` once this partner has answered). The other partner's devices see only that it
 * exists until its key is published.
 */
export function submitHiddenAnswer(doc: Y.Doc, input: SubmitHiddenAnswerInput): RevealSnapshot {
  const { entry, revealId } = requireReveal(doc, input.revealId);
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  const answerId = requireId<AnswerId>(input.answerId, 'answerId');
  if (!(input.sealed instanceof Uint8Array) || !isSealedAnswerLength(input.sealed.length)) {
    throw invalid('That is not a sealed answer (or it is too long).');
  }
  if (!(input.commitment instanceof Uint8Array) || input.commitment.length !== ANSWER_KEY_BYTES) {
    throw invalid(`A commitment is ${ANSWER_KEY_BYTES} bytes.`);
  }
  const at = requireEpochMs(input.at, 'at');
  const answers = ymap(entry, 'answers');
  if (!answers) throw notFound('reveal', revealId);
  if (answers.has(partnerId)) {
    throw notAllowed('You have answered this already; add later thoughts after the reveal.');
  }
  const stored: StoredAnswer = {
    answerId,
    sealed: sealedText(input.sealed),
    commitment: hex32(input.commitment),
    at,
  };
  doc.transact(() => answers.set(partnerId, stored), Origin.submitHiddenAnswer);
  return getReveal(doc, revealId)!;
}

export interface PublishAnswerKeyInput {
  readonly revealId: RevealId;
  /** The author of the answer: a partner publishes only their own answer's key. */
  readonly partnerId: PartnerId;
  /** The answer's key; it must be the one the answer's commitment was made for. */
  readonly key: Uint8Array;
  readonly at: EpochMs;
}

/**
 * Publishes the key of `partnerId`'s answer, which every device can then open. Refused before
 * both partners have answered (`not-allowed`) and for a key other than the one committed to
 * (`invalid-argument`); returns false, writing nothing, when the key is published already (the
 * partner's other device got there first).
 */
export function publishAnswerKey(doc: Y.Doc, input: PublishAnswerKeyInput): boolean {
  const { entry, revealId } = requireReveal(doc, input.revealId);
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  if (!(input.key instanceof Uint8Array) || input.key.length !== ANSWER_KEY_BYTES) {
    throw invalid(`An answer's key is ${ANSWER_KEY_BYTES} bytes.`);
  }
  const at = requireEpochMs(input.at, 'at');
  const reveal = getReveal(doc, revealId);
  const own = reveal?.partners.find((p) => p.partnerId === partnerId)?.answer ?? null;
  if (!reveal || !own || !reveal.bothAnswered) {
    throw notAllowed('A key is published once both partners have answered.');
  }
  const key = hex32(input.key);
  if (!opensCommitment(key, hex32(own.commitment))) {
    throw invalid('That key is not the one this answer was sealed with.');
  }
  if (own.key !== null) return false;
  const keys = ymap(entry, 'keys')!;
  const stored: StoredKey = { key, at };
  doc.transact(() => keys.set(partnerId, stored), Origin.publishAnswerKey);
  return true;
}

export interface AddRevealFollowUpInput {
  readonly id?: AnswerId;
  readonly revealId: RevealId;
  readonly partnerId: PartnerId;
  readonly text: string;
  readonly at: EpochMs;
}

/** A later thought, added below both answers once they are revealed (`not-allowed` before). */
export function addRevealFollowUp(
  doc: Y.Doc,
  input: AddRevealFollowUpInput,
  newId: IdGenerator = randomId,
): RevealFollowUp {
  const { entry, revealId } = requireReveal(doc, input.revealId);
  const by = requirePartner(doc, input.partnerId, 'partnerId');
  const text = requireText(input.text, 'A follow-up', 1, Limits.revealAnswer);
  const at = requireEpochMs(input.at, 'at');
  const reveal = getReveal(doc, revealId);
  if (!reveal?.revealed) {
    throw notAllowed('Later thoughts are added once both answers are revealed.');
  }
  const followUps = yarray(entry, 'followUps')!;
  const taken = new Set(reveal.followUps.map((f) => f.id));
  const id = freshId<AnswerId>(input.id, newId, 'Follow-up id', (i) => taken.has(i as AnswerId));
  const stored: RevealFollowUp = { id, by, text, at };
  doc.transact(() => followUps.push([stored]), Origin.addRevealFollowUp);
  return stored;
}

// ---- reading

interface StoredAnswer {
  readonly answerId: string;
  /** base64url */
  readonly sealed: string;
  /** hex */
  readonly commitment: string;
  readonly at: EpochMs;
}

interface StoredKey {
  /** hex */
  readonly key: string;
  readonly at: EpochMs;
}

function requireReveal(doc: Y.Doc, id: unknown): { entry: Y.Map<unknown>; revealId: RevealId } {
  requireInitialised(doc);
  const revealId = String(id) as RevealId;
  const entry = roots(doc).reveals.get(revealId);
  if (!(entry instanceof Y.Map) || !getReveal(doc, revealId)) throw notFound('reveal', revealId);
  return { entry, revealId };
}

/** The answer a stored value holds, or null for anything else (a reader never throws). */
function readAnswer(by: PartnerId, value: unknown, keyValue: unknown): HiddenAnswerSnapshot | null {
  if (!isRecord(value)) return null;
  const sealed = sealedBytes(value.sealed);
  const commitment = hex32Bytes(value.commitment);
  if (!isId(value.answerId) || !sealed || !commitment || !isEpochMs(value.at)) return null;
  // A key counts only if it is the one committed to; the rule table refuses any other.
  const published =
    isRecord(keyValue) && isEpochMs(keyValue.at) && opensCommitment(keyValue.key, value.commitment)
      ? { key: hex32Bytes(keyValue.key)!, at: keyValue.at }
      : null;
  return {
    answerId: value.answerId as AnswerId,
    by,
    sealed,
    commitment,
    at: value.at,
    key: published?.key ?? null,
    keyPublishedAt: published?.at ?? null,
  };
}

function readFollowUp(value: unknown): RevealFollowUp | null {
  if (!isRecord(value)) return null;
  const { id, by, text, at } = value;
  if (!isId(id) || !isId(by) || typeof text !== 'string' || !isEpochMs(at)) return null;
  if (codePoints(text) > Limits.revealAnswer) return null;
  return { id: id as AnswerId, by: by as PartnerId, text, at };
}

/**
 * The reveal, or null while it is incomplete. Its own fields and containers are written once,
 * when it is opened, so it arrives whole; answers and keys are single values, each whole or absent.
 */
function read(doc: Y.Doc, id: string, entry: Y.Map<unknown>): RevealSnapshot | null {
  const prompt = entry.get('prompt');
  const kind = entry.get('kind');
  const createdBy = entry.get('createdBy');
  const createdAt = entry.get('createdAt');
  const answers = ymap(entry, 'answers');
  const keys = ymap(entry, 'keys');
  const followUps = yarray(entry, 'followUps');
  if (
    entry.get('id') !== id ||
    typeof prompt !== 'string' ||
    (kind !== null && !isRevealKind(kind)) ||
    !isId(createdBy) ||
    !isEpochMs(createdAt) ||
    !answers ||
    !keys ||
    !followUps
  ) {
    return null;
  }
  const partners: RevealPartnerView[] = partnerIds(doc).map((partnerId) => {
    const answer = readAnswer(partnerId, answers.get(partnerId), keys.get(partnerId));
    const status =
      answer === null
        ? RevealAnswerStatus.notAnswered
        : answer.key === null
          ? RevealAnswerStatus.answered
          : RevealAnswerStatus.revealed;
    return { partnerId, status, answer };
  });
  const full = partners.length === 2;
  return {
    id: id as RevealId,
    prompt,
    kind: kind as string | null,
    createdBy: createdBy as PartnerId,
    createdAt,
    partners,
    bothAnswered: full && partners.every((p) => p.answer !== null),
    revealed: full && partners.every((p) => p.status === RevealAnswerStatus.revealed),
    followUps: followUps.toArray().flatMap((v) => readFollowUp(v) ?? []),
  };
}

/** Every reveal, oldest first (by time opened, then id, so every replica orders them alike). */
export function listReveals(doc: Y.Doc): RevealSnapshot[] {
  const out: RevealSnapshot[] = [];
  for (const [id, entry] of roots(doc).reveals.entries()) {
    const r = entry instanceof Y.Map ? read(doc, id, entry) : null;
    if (r) out.push(r);
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function getReveal(doc: Y.Doc, revealId: RevealId): RevealSnapshot | null {
  const entry = roots(doc).reveals.get(String(revealId));
  return entry instanceof Y.Map ? read(doc, String(revealId), entry) : null;
}

/**
 * The partner's answers whose keys are due: both have answered and this partner's key is not
 * published yet. Their devices publish each (`publishAnswerKey`) as soon as they see it.
 */
export function answerKeysDue(
  doc: Y.Doc,
  partnerId: PartnerId,
): { readonly revealId: RevealId; readonly answer: HiddenAnswerSnapshot }[] {
  return listReveals(doc).flatMap((r) => {
    const own = r.partners.find((p) => p.partnerId === partnerId);
    return r.bothAnswered && own?.status === RevealAnswerStatus.answered && own.answer
      ? [{ revealId: r.id, answer: own.answer }]
      : [];
  });
}

export { answerKeyCommitment };
