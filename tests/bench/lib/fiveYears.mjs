// A space after five years of use, written through @mend/model's own functions by two partners
// whose devices sync once a day: 3,650 check-ins, 300 agreements with 20,000 body edits, 500
// question threads with answers. Seeded, so every run stores the same bytes.
import * as model from '@mend/model';
import * as Y from 'yjs';
import { prng } from '../../support/prng.mjs';
import { sleep } from './clients.mjs';

const YEARS = 5;
const DAY_MS = 86_400_000;
const START = Date.UTC(2021, 0, 4, 20, 0, 0);

const WORDS = (
  'we agree to tell each other the truth when it is hard and to ask before assuming ' +
  'I will share my phone when you ask without sighing we take a pause when voices rise and come back ' +
  'within one hour no contact with them of any kind I tell you the same day if they write ' +
  'we sleep in the same room on weeknights we see the counsellor every second Thursday ' +
  'honest gentle listen repair patience trust slowly morning evening weekend promise enough'
).split(' ');
const STATES = ['calm', 'alert', 'fight', 'flight', 'freeze'];

function isoDate(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * @param {{ seed?: number, base?: Uint8Array }} [options] base: the space as the server created
 *   it (space meta and both partners); without it the builder sets the space up itself.
 * @returns {{ update: Uint8Array, weekly: Uint8Array[], counts: Record<string, number> }}
 */
export function buildFiveYears({ seed = 5, base, years = YEARS } = {}) {
  const DAYS = Math.round(years * 365);
  const AGREEMENTS = Math.round((300 * years) / YEARS);
  const BODY_EDITS = Math.round((20_000 * years) / YEARS);
  const QUESTIONS = Math.round((500 * years) / YEARS);
  const random = prng(seed);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const phrase = (min, max) => {
    const n = min + Math.floor(random() * (max - min + 1));
    return Array.from({ length: n }, () => pick(WORDS)).join(' ');
  };
  const a = new Y.Doc();
  const b = new Y.Doc();
  if (base) {
    Y.applyUpdate(a, base);
  } else {
    model.initSpace(a, { name: 'Our space', createdAt: START - DAY_MS });
    model.addPartner(a, {
      id: 'partner-aaaaaaaaaaaa',
      displayName: 'Sam',
      joinedAt: START - DAY_MS,
      color: '#3b6e8f',
    });
    model.addPartner(a, {
      id: 'partner-bbbbbbbbbbbb',
      displayName: 'Alex',
      joinedAt: START,
      color: '#8f5b3b',
    });
  }
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  const partners = model.listPartners(a).map((p) => p.id);
  if (partners.length !== 2)
    throw new Error(`the five-year space needs two partners, found ${partners.length}`);
  const docs = [a, b];

  const agreements = [];
  const questions = [];
  let bodyEdits = 0;
  let answers = 0;
  let checkins = 0;
  const weekly = [];
  let week = [];
  // What partner A's device would have sent to the server: every change, its own and B's, as it
  // arrived, merged per week.
  a.on('update', (update) => week.push(update));
  // Each device sends only what it wrote since the last sync: shipping whole states would carry
  // the full delete set every day and make the build quadratic.
  const fromSync = Symbol('sync');
  const unsent = [[], []];
  docs.forEach((doc, i) =>
    doc.on('update', (update, origin) => origin !== fromSync && unsent[i].push(update)),
  );
  const sync = () => {
    for (const i of [0, 1]) {
      if (unsent[i].length > 0) Y.applyUpdate(docs[1 - i], Y.mergeUpdates(unsent[i]), fromSync);
      unsent[i] = [];
    }
  };

  for (let day = 0; day < DAYS; day++) {
    const at = START + day * DAY_MS;
    const date = isoDate(at);
    for (let p = 0; p < 2; p++) {
      model.checkIn(docs[p], {
        partnerId: partners[p],
        date,
        safety: Math.min(10, Math.max(0, Math.round(3 + (7 * day) / DAYS + (random() - 0.5) * 4))),
        state: pick(STATES),
        note: random() < 0.15 ? phrase(3, 10) : undefined,
        at: at + p * 60_000,
      });
      checkins++;
    }
    while (agreements.length < Math.max(1, Math.round(((day + 1) * AGREEMENTS) / DAYS))) {
      const p = agreements.length % 2;
      agreements.push(
        model.proposeAgreement(docs[p], {
          title: phrase(3, 7),
          body: phrase(10, 30),
          by: partners[p],
          at: at + 120_000,
        }),
      );
    }
    sync();
    const editsToday = Math.round(((day + 1) * BODY_EDITS) / DAYS) - bodyEdits;
    for (let e = 0; e < editsToday; e++) {
      const p = random() < 0.5 ? 0 : 1;
      // Recent agreements are the ones still being worded.
      const index = Math.max(
        0,
        agreements.length - 1 - Math.floor(random() * random() * agreements.length),
      );
      const agreementId = agreements[index];
      // Co-editing goes through the live Y.Text the model hands out; every tenth edit is a whole
      // rewording saved through editAgreement, which also records who changed it last.
      const body = model.agreementTexts(docs[p], agreementId).body;
      const cut = Math.floor(random() * (body.length + 1));
      if (e % 10 === 9) {
        const current = body.toString();
        const next = `${current.slice(0, cut)} ${phrase(1, 3)}${current.slice(cut)}`.slice(0, 6000);
        model.editAgreement(docs[p], {
          agreementId,
          body: next,
          by: partners[p],
          at: at + 180_000 + e,
        });
      } else if (random() < 0.25 && body.length > 60) {
        docs[p].transact(() =>
          body.delete(Math.min(cut, body.length - 30), 3 + Math.floor(random() * 20)),
        );
      } else {
        docs[p].transact(() => body.insert(cut, ` ${phrase(1, 3)}`));
      }
      bodyEdits++;
    }
    while (questions.length < Math.round(((day + 1) * QUESTIONS) / DAYS)) {
      const p = random() < 0.7 ? 0 : 1;
      const questionId = model.askQuestion(docs[p], {
        text: `${phrase(8, 30)}?`,
        by: partners[p],
        at: at + 240_000,
      });
      questions.push({
        questionId,
        askedBy: p,
        due: day + 1 + Math.floor(random() * 3),
        left: 1 + Math.floor(random() * 3),
      });
    }
    sync();
    for (const q of questions) {
      if (q.left > 0 && q.due <= day) {
        const p = q.left % 2 === 1 ? 1 - q.askedBy : q.askedBy;
        model.answerQuestion(docs[p], {
          questionId: q.questionId,
          text: phrase(6, 30),
          by: partners[p],
          at: at + 300_000,
        });
        answers++;
        q.left--;
        q.due = day + 1 + Math.floor(random() * 4);
      }
    }
    sync();
    if (day % 7 === 6 || day === DAYS - 1) {
      weekly.push(Y.mergeUpdates(week));
      week = [];
    }
  }
  return {
    update: Y.encodeStateAsUpdate(a),
    weekly,
    counts: {
      days: DAYS,
      checkins,
      agreements: agreements.length,
      bodyEdits,
      questions: questions.length,
      answers,
    },
  };
}

/**
 * Sends the weekly updates from the device holding `doc` (a synced client's document), staying
 * under Mend's per-socket message rate (100/s, bursts of 400).
 * @param {Y.Doc} doc
 * @param {Uint8Array[]} weekly
 */
export async function sendWeekly(doc, weekly) {
  for (const [i, update] of weekly.entries()) {
    Y.applyUpdate(doc, update);
    if (i % 50 === 49) await sleep(700);
  }
}
