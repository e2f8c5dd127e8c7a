import {
  getReveal,
  openReveal,
  RevealAnswerStatus,
  submitHiddenAnswer,
  publishAnswerKey,
  addPartner,
  initSpace,
  type AnswerId,
  type PartnerId,
  type RevealId,
} from '@mend/model';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { randomBytes } from '../crypto.js';
import { SealedErrorReason } from '../errors.js';
import { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import {
  answerReveal,
  newSeatSecret,
  openRevealAnswers,
  publishDueAnswerKeys,
  revealAnswerCommitment,
  SEAT_SECRET_BYTES,
} from '../reveal.js';
import { encodeMembership } from './membershipCodec.js';
import type { SealedSession } from './SealedSession.js';
import type { SealedMembership } from './sealedSpaces.js';
import { SeatReveals } from './SeatReveals.js';
import { until } from './testing/fakeServer.js';
import { ALEX, SAM, spaceId, T0 } from './testing/sealedSpace.js';
import { pageOf, sessionWorld, type SessionWorld } from './testing/session.js';

const opened: SealedSession[] = [];
const DAY = 24 * 60 * 60 * 1000;
const samSecret = newSeatSecret();

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.destroy()));
});

const statusOf = (doc: Y.Doc, revealId: RevealId, partnerId: PartnerId) =>
  getReveal(doc, revealId)?.partners.find((p) => p.partnerId === partnerId)?.status;

/** Alex asks and answers on their device, and the server has both. */
async function alexAsks(w: SessionWorld, session: SealedSession): Promise<RevealId> {
  const doc = session.replica.doc;
  const { id } = openReveal(doc, { prompt: 'What do you miss most?', createdBy: ALEX, at: T0 });
  session.reveals.answer(id, 'Our walks on Sundays.');
  await until(() => session.waiting === 0, 'Alex’s answer to reach the server');
  w.sam.sync();
  return id;
}

/** Sam answers the next day on their device; returns the seq the server stored it at. */
function samAnswers(w: SessionWorld, revealId: RevealId): number {
  return w.sam.edit((d) =>
    answerReveal(d, {
      seatSecret: samSecret,
      spaceId,
      revealId,
      partnerId: SAM,
      text: 'Laughing at nothing.',
      at: T0 + DAY,
    }),
  );
}

/** The bytes version 1 stored: no seat secret at their end. */
function version1(m: SealedMembership): Uint8Array {
  const bytes = encodeMembership(m).slice(0, -SEAT_SECRET_BYTES);
  bytes[16] = 1; // the version, after the 16-byte label
  return bytes;
}

describe('a sealed session’s reveals', () => {
  it('keep Alex’s answer from Sam until Sam answers the next day, then show both on both devices', async () => {
    const w = await sessionWorld();
    const alex = await pageOf(w, opened);
    await until(() => alex.provider.synced, 'the first sync');
    const revealId = await alexAsks(w, alex);

    // Alex reads their own answer; Sam's device holds it and cannot.
    expect(alex.reveals.read(revealId)).toEqual([
      { partnerId: ALEX, text: 'Our walks on Sundays.' },
    ]);
    expect(statusOf(w.sam.doc, revealId, ALEX)).toBe(RevealAnswerStatus.answered);
    expect(openRevealAnswers(w.sam.doc, { spaceId, revealId }).size).toBe(0);
    const onSam = new SeatReveals(w.sam.doc, {
      spaceId,
      partnerId: SAM,
      seatSecret: samSecret,
      pauseMs: 60_000,
    });
    expect(onSam.read(revealId)).toEqual([{ partnerId: ALEX, hidden: true }]);
    onSam.destroy();

    // Sam's answer arrives: Alex's device publishes Alex's key by itself.
    w.server.relay(samAnswers(w, revealId));
    await until(
      () => statusOf(alex.replica.doc, revealId, ALEX) === RevealAnswerStatus.revealed,
      'Alex’s key',
    );
    await until(() => alex.waiting === 0, 'Alex’s key to reach the server');
    w.sam.sync();
    expect(openRevealAnswers(w.sam.doc, { spaceId, revealId }).get(ALEX)).toBe(
      'Our walks on Sundays.',
    );

    // Sam's device publishes Sam's, and both answers read alike on Alex's.
    const published: RevealId[] = [];
    w.server.relay(
      w.sam.edit((d) =>
        published.push(
          ...publishDueAnswerKeys(d, {
            seatSecret: samSecret,
            spaceId,
            partnerId: SAM,
            at: T0 + DAY,
          }),
        ),
      ),
    );
    expect(published).toEqual([revealId]);
    await until(() => getReveal(alex.replica.doc, revealId)?.revealed === true, 'the reveal');
    expect(alex.reveals.read(revealId)).toEqual([
      { partnerId: ALEX, text: 'Our walks on Sundays.' },
      { partnerId: SAM, text: 'Laughing at nothing.' },
    ]);
    expect(alex.setAside()).toEqual([]);
  });

  it('publishes a key that fell due while the page was closing when the space next opens, offline', async () => {
    const w = await sessionWorld();
    // Closed before its pause was over: Sam's answer is stored, Alex's key is not published.
    const slow = await pageOf(w, opened, { revealPauseMs: 60_000 });
    await until(() => slow.provider.synced, 'the first sync');
    const revealId = await alexAsks(w, slow);
    w.server.relay(samAnswers(w, revealId));
    await until(() => getReveal(slow.replica.doc, revealId)?.bothAnswered === true, 'Sam’s answer');
    expect(statusOf(slow.replica.doc, revealId, ALEX)).toBe(RevealAnswerStatus.answered);
    await slow.destroy();

    const offline = await pageOf(w, opened, { connect: false });
    await until(
      () => statusOf(offline.replica.doc, revealId, ALEX) === RevealAnswerStatus.revealed,
      'Alex’s key, offline',
    );
    expect(offline.waiting).toBe(1);
  });

  it('answers once: a second answer from this partner is refused and the first stays', async () => {
    const w = await sessionWorld();
    const alex = await pageOf(w, opened);
    await until(() => alex.provider.synced, 'the first sync');
    const { id } = openReveal(alex.replica.doc, {
      prompt: 'One thing you noticed today',
      createdBy: ALEX,
      at: T0,
    });
    alex.reveals.answer(id, 'First words.');
    expect(() => alex.reveals.answer(id, 'Second thoughts.')).toThrow(/answered this already/);
    expect(alex.reveals.read(id)).toEqual([{ partnerId: ALEX, text: 'First words.' }]);
  });

  it('gives a membership stored before seat secrets one on open, the same to every tab opening it at once', async () => {
    const w = await sessionWorld();
    const store = await LocalSpaceStore.open(spaceId, { indexedDB: w.factory });
    await store.saveSecrets(version1(w.membership));
    store.close();

    const [one, two] = await Promise.all([pageOf(w, opened), pageOf(w, opened)]);
    expect(one.membership.seatSecret).toHaveLength(SEAT_SECRET_BYTES);
    expect(two.membership.seatSecret).toEqual(one.membership.seatSecret);
    // The same device keys, the signing key now held by the platform alone (SealedSession.open).
    const { signing, agreement } = w.membership.identity;
    for (const tab of [one, two]) {
      expect(tab.membership.identity.signing.publicKey).toEqual(signing.publicKey);
      expect(tab.membership.identity.signing.secretKey).toBeNull();
      expect(tab.membership.identity.agreement).toEqual(agreement);
    }
    const later = await pageOf(w, opened, { connect: false });
    expect(later.membership.seatSecret).toEqual(one.membership.seatSecret);
  });
});

describe('SeatReveals.read', () => {
  it('says which answer does not open with its key, and still reads the other', async () => {
    const doc = new Y.Doc();
    initSpace(doc, { name: 'Ours', createdAt: T0 });
    addPartner(doc, { id: ALEX, displayName: 'Alex', joinedAt: T0, color: '#aa3355' });
    addPartner(doc, { id: SAM, displayName: 'Sam', joinedAt: T0, color: '#3355aa' });
    const alexSecret = newSeatSecret();
    const alex = new SeatReveals(doc, { spaceId, partnerId: ALEX, seatSecret: alexSecret });
    const { id } = openReveal(doc, { prompt: 'A prompt', createdBy: ALEX, at: T0 });
    alex.answer(id, 'Honest words.');
    // A dishonest device: bytes that were never sealed with the key it commits to and publishes.
    const key = randomBytes(32);
    submitHiddenAnswer(doc, {
      revealId: id,
      partnerId: SAM,
      answerId: 'answer_not_sealed_ok' as AnswerId,
      sealed: randomBytes(24 + 256 + 16),
      commitment: revealAnswerCommitment(key),
      at: T0,
    });
    publishAnswerKey(doc, { revealId: id, partnerId: SAM, key, at: T0 });
    await until(() => getReveal(doc, id)?.revealed === true, 'Alex’s key, published by the seat');
    const [mine, theirs] = alex.read(id);
    expect(mine).toEqual({ partnerId: ALEX, text: 'Honest words.' });
    expect(theirs).toMatchObject({ partnerId: SAM });
    expect(theirs && 'unreadable' in theirs && theirs.unreadable.reason).toBe(
      SealedErrorReason.badCiphertext,
    );
    alex.destroy();
  });
});
