// What the model's authorship check of a remote update costs on a large space, beside what
// applying the update costs anyway. Not part of `pnpm bench`; needs `@mend/model` built:
//   node tests/bench/authorship.mjs [--years 5] [--keys 2000]
// A partner's device types into an agreement of the five-year space one character per update
// (what a sealed client receives for each remote keystroke); every update is checked with
// `checkRemoteUpdate` (the fast path), then applied. The replica oracle, which copies the
// document per update, is timed on a few of them for scale. Prints one JSON object.
import * as model from '@mend/model';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { buildFiveYears } from './lib/fiveYears.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const YEARS = arg('years', 5);
const KEYS = arg('keys', 2000);

const built = performance.now();
const { update: space, counts } = buildFiveYears({ years: YEARS });
const buildMs = performance.now() - built;

const sequenced = new Y.Doc();
Y.applyUpdate(sequenced, space);
const structs = [...sequenced.store.clients.values()].reduce((n, list) => n + list.length, 0);
const partner = model.listPartners(sequenced)[0].id;
const agreement = model.listAgreements(sequenced).at(-1).id;

// The typing device: its own copy of the space and its own client id.
const device = new Y.Doc();
Y.applyUpdate(device, space);
device.clientID = 424242;
const author = { partnerId: partner, clientIds: new Set([device.clientID]) };
const keystrokes = [];
device.on('update', (u) => keystrokes.push(u));
const body = model.agreementTexts(device, agreement).body;
for (let i = 0; i < KEYS; i++) {
  device.transact(
    () => body.insert(Math.floor(body.length / 2), 'abcdefghij'[i % 10]),
    model.Origin.liveEdit,
  );
}

/**
 * Microseconds per update of `fn` over the updates, in turn: wall-clock median and 99th
 * percentile, and the process's CPU time per update (steadier on a shared machine, where wall
 * time includes waiting for a core).
 */
function perUpdate(fn, updates, after = () => {}) {
  let cpuUs = 0;
  const us = updates.map((u) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    fn(u);
    const wall = (performance.now() - started) * 1000;
    const used = process.cpuUsage(cpu);
    cpuUs += used.user + used.system;
    after(u);
    return wall;
  });
  us.sort((a, b) => a - b);
  const at = (q) => Number(us[Math.min(us.length - 1, Math.floor(q * us.length))].toFixed(1));
  return {
    p50: at(0.5),
    p99: at(0.99),
    cpu: Number((cpuUs / updates.length).toFixed(1)),
  };
}

// A warm-up pass on a throwaway copy, so the JIT has seen the code.
const warm = new Y.Doc();
Y.applyUpdate(warm, space);
for (const u of keystrokes.slice(0, 200)) {
  model.checkRemoteUpdate(warm, u, author);
  Y.applyUpdate(warm, u);
}

const verdicts = [];
const check = perUpdate(
  (u) => verdicts.push(model.checkRemoteUpdate(sequenced, u, author).ok),
  keystrokes,
  (u) => Y.applyUpdate(sequenced, u),
);
sequenced.destroy();
warm.destroy();
const applyOnly = new Y.Doc();
Y.applyUpdate(applyOnly, space);
const apply = perUpdate((u) => Y.applyUpdate(applyOnly, u), keystrokes);
applyOnly.destroy();

const oracleDoc = new Y.Doc();
Y.applyUpdate(oracleDoc, space);
const oracle = perUpdate(
  (u) => {
    model.checkRemoteUpdateByReplica(oracleDoc, u, author);
    Y.applyUpdate(oracleDoc, u);
  },
  keystrokes.slice(0, 10),
);

// An offline outbox: every keystroke merged into one update, checked against the space before.
const merged = Y.mergeUpdates(keystrokes);
const before = new Y.Doc();
Y.applyUpdate(before, space);
const batch = perUpdate(
  (u) => model.checkRemoteUpdate(before, u, author),
  [merged, merged, merged],
);

// An offline batch of two characters, x then z right after it, checked before applying; and the
// same batch from an author that took in a partner's y (sequenced first, right after x) before
// typing z between x and y: the update alone cannot order z's neighbours, so the check applies
// it to a copy of the space (SPEC.md 29).
function twoCharacterBatch(takesIn) {
  const log = new Y.Doc();
  Y.applyUpdate(log, space);
  const typist = new Y.Doc();
  Y.applyUpdate(typist, space);
  typist.clientID = 424243;
  const own = [];
  typist.on('update', (u, origin) => origin !== 'log' && own.push(u));
  const text = (doc) => model.agreementTexts(doc, agreement).body;
  const at = Math.floor(text(typist).length / 2);
  text(typist).insert(at, 'x');
  if (takesIn) {
    const partnerDoc = new Y.Doc();
    Y.applyUpdate(partnerDoc, space);
    partnerDoc.clientID = 999_999_999;
    const start = Y.encodeStateVector(partnerDoc);
    text(partnerDoc).insert(at, 'y');
    const y = Y.encodeStateAsUpdate(partnerDoc, start);
    Y.applyUpdate(log, y);
    Y.applyUpdate(typist, y, 'log');
  }
  text(typist).insert(at + 1, 'z');
  return {
    log,
    update: Y.mergeUpdates(own),
    author: { partnerId: partner, clientIds: new Set([424243]) },
  };
}
const batchOf = (takesIn) => {
  const { log, update, author: by } = twoCharacterBatch(takesIn);
  const ok = [];
  const timing = perUpdate(
    (u) => ok.push(model.checkRemoteUpdate(log, u, by).ok),
    [update, update, update, update, update],
  );
  log.destroy();
  return { ...timing, accepted: ok.every(Boolean) };
};
const decidedBatch = batchOf(false);
const appliedBatch = batchOf(true);

/** Where the keystrokes below are typed: the middle of the agreement's body. */
const middle = Math.floor(
  (() => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, space);
    return model.agreementTexts(doc, agreement).body.length;
  })() / 2,
);
const writer = { partnerId: partner, clientIds: new Set([424244]) };

/**
 * A device of `clientID` holding the space, typing at the middle of the body, one character
 * after the other: each call gives what it sends (an update event: the space's deletions stay out).
 */
function typist(clientID) {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, space);
  doc.clientID = clientID;
  let offset = 0;
  return (character) => {
    let sent;
    const take = (u) => (sent = u);
    doc.on('update', take);
    model.agreementTexts(doc, agreement).body.insert(middle + offset++, character);
    doc.off('update', take);
    return sent;
  };
}

/** `update` checked five times against `log` as the writer's: timings and the verdict. */
function fiveChecks(log, update) {
  const verdicts = [];
  const timing = perUpdate(
    (u) => verdicts.push(model.checkRemoteUpdate(log, u, writer)),
    [update, update, update, update, update],
  );
  log.destroy();
  return { ...timing, verdict: verdicts[0].ok ? 'accepted' : verdicts[0].detail };
}

function spaceLog() {
  const log = new Y.Doc();
  Y.applyUpdate(log, space);
  return log;
}

// A keystroke written concurrently with a partner's at the same place: the partner's y is in the
// log between its neighbours, so the check works out what its writer had (SPEC.md 29): the
// closure of what it names, through the space.
function concurrentKeystroke() {
  const log = spaceLog();
  Y.applyUpdate(log, typist(999_999_999)('y'));
  return fiveChecks(log, typist(424244)('x'));
}

// A crafted character between two characters of the body with one between them that its
// writer had (refused), for the same walk.
function craftedBetween() {
  const log = spaceLog();
  const text = model.agreementTexts(log, agreement).body;
  const [left, right] = [middle - 1, middle + 1].map(
    (i) => Y.createRelativePositionFromTypeIndex(text, i).item,
  );
  return fiveChecks(log, oneCharacter(424244, 0, left, right));
}

/** One character of `client` between `origin` and `rightOrigin`, in Yjs's v1 encoding. */
function oneCharacter(client, clock, origin, rightOrigin) {
  const encoder = encoding.createEncoder();
  for (const n of [1, 1, client, clock]) encoding.writeVarUint(encoder, n);
  encoding.writeUint8(encoder, 0x80 | 0x40 | 4); // origin, right origin, a string
  for (const id of [origin, rightOrigin]) {
    encoding.writeVarUint(encoder, id.client);
    encoding.writeVarUint(encoder, id.clock);
  }
  encoding.writeVarString(encoder, 'w');
  encoding.writeVarUint(encoder, 0); // no deletions
  return encoding.toUint8Array(encoder);
}

// The same writer's next keystroke, again concurrent with the partner's at the same place: what
// it had when it wrote its first is kept with the log (LogKnowledge.ts), so the check walks only
// what came since.
function nextConcurrentKeystroke() {
  const log = spaceLog();
  const [partnerTypes, writerTypes] = [typist(999_999_999), typist(424244)];
  Y.applyUpdate(log, partnerTypes('y'));
  const first = writerTypes('x');
  if (!model.checkRemoteUpdate(log, first, writer).ok)
    throw new Error('the first keystroke refused');
  Y.applyUpdate(log, first);
  Y.applyUpdate(log, partnerTypes('y'));
  return fiveChecks(log, writerTypes('x'));
}

console.log(
  JSON.stringify(
    {
      space: {
        years: YEARS,
        bytes: space.byteLength,
        structs,
        ...counts,
        buildSeconds: Math.round(buildMs / 1000),
      },
      keystrokes: KEYS,
      accepted: verdicts.filter(Boolean).length,
      'checkRemoteUpdate per keystroke (µs)': check,
      'Y.applyUpdate per keystroke (µs), for scale': apply,
      'checkRemoteUpdateByReplica per keystroke (µs), 10 of them': oracle,
      [`checkRemoteUpdate of all ${KEYS} keystrokes merged (µs)`]: batch,
      'checkRemoteUpdate of a 2-character offline batch (µs), 5 times': decidedBatch,
      'the same, its author took in a partner character between (µs), 5 times': appliedBatch,
      "a keystroke concurrent with a partner's at the same place (µs), 5 times":
        concurrentKeystroke(),
      'a crafted character around one its writer had (µs), 5 times': craftedBetween(),
      "the same writer's next keystroke, concurrent again (µs), 5 times": nextConcurrentKeystroke(),
    },
    null,
    2,
  ),
);
