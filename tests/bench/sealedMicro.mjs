// What one keystroke costs a sealed space's devices, step by step, in one process (no server):
// the author seals it; the partner verifies (layout, space, Ed25519 over SHA-256), decrypts
// (XChaCha20-Poly1305), checks it with the model's rules (checkRemoteUpdate) and applies it.
// In a small space and in the five-year space; then a fresh device taking in the five-year space
// as one snapshot envelope, step by step. Not part of `pnpm bench`; prints one JSON object.
//   node tests/bench/sealedMicro.mjs [--keys 300] [--rounds 5]
import { performance } from 'node:perf_hooks';
import * as model from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import {
  SealedReplica,
  SpaceKeyring,
  decodeSnapshotPayload,
  decryptEnvelope,
  encodeSnapshotPayload,
  newDeviceIdentity,
  newSpaceKey,
  sealEnvelope,
  verifyEnvelope,
  verifyEnvelopeAhead,
} from '@mend/sealed';
import * as Y from 'yjs';
import { buildFiveYears } from './lib/fiveYears.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const KEYS = arg('keys', 300);
const ROUNDS = arg('rounds', 5);

/** Median wall ms and mean CPU ms per call of `fn` over `inputs`, in turn. */
function perCall(fn, inputs) {
  const wall = [];
  const cpu = process.cpuUsage();
  for (const input of inputs) {
    const started = performance.now();
    fn(input);
    wall.push(performance.now() - started);
  }
  return perCallSummary(wall, process.cpuUsage(cpu));
}

/** The median wall time of one call, and the CPU per call. */
function perCallSummary(wall, used) {
  wall.sort((a, b) => a - b);
  return {
    medianMs: Number(wall[wall.length >> 1].toFixed(3)),
    cpuMs: Number(((used.user + used.system) / 1000 / wall.length).toFixed(3)),
  };
}

/** perCall for an asynchronous step, one call at a time. */
async function perCallAsync(fn, inputs) {
  const wall = [];
  const cpu = process.cpuUsage();
  for (const input of inputs) {
    const started = performance.now();
    await fn(input);
    wall.push(performance.now() - started);
  }
  return perCallSummary(wall, process.cpuUsage(cpu));
}

async function measure(space, label) {
  const spaceId = model.randomId();
  const keyring = new SpaceKeyring(spaceId);
  keyring.add(1, newSpaceKey());
  const author = newDeviceIdentity();
  const partner = model.listPartners(space.doc)[0].id;
  const agreement = model.listAgreements(space.doc).at(-1).id;

  // The author types KEYS characters, one update each; then once more to warm up the JIT.
  const typist = new Y.Doc();
  Y.applyUpdate(typist, space.update);
  const updates = [];
  typist.on('update', (u) => updates.push(u));
  const body = model.agreementTexts(typist, agreement).body;
  for (let i = 0; i < 2 * KEYS; i++) {
    typist.transact(() => body.insert(Math.floor(body.length / 2), 'abcdefghij'[i % 10]));
  }
  const warm = updates.slice(0, KEYS);
  const keys = updates.slice(KEYS);
  let counter = 0;
  const seal = (payload) =>
    sealEnvelope({
      identity: author,
      keyring,
      kind: EnvelopeKind.update,
      stream: typist.clientID,
      counter: ++counter,
      payload,
    }).bytes;
  perCall(seal, warm);
  const sealing = perCall(seal, keys);
  const envelopes = keys.map(seal);
  const verify = (bytes) => verifyEnvelope(bytes, spaceId);
  perCall(verify, envelopes.slice(0, 50));
  const verifying = perCall(verify, envelopes);
  // As a device verifies what the server serves (SealedProvider#take): ahead, with the
  // platform's Ed25519, then the same bytes through verifyEnvelope (a lookup). Fresh copies, so
  // nothing was vouched for before.
  const verifyAhead = async (bytes) => {
    await verifyEnvelopeAhead(bytes, spaceId);
    verifyEnvelope(bytes, spaceId);
  };
  await perCallAsync(
    verifyAhead,
    envelopes.slice(0, 50).map((bytes) => bytes.slice()),
  );
  const verifyingAhead = await perCallAsync(
    verifyAhead,
    envelopes.map((bytes) => bytes.slice()),
  );
  const verified = envelopes.map(verify);
  const decrypting = perCall((v) => decryptEnvelope(v, keyring), verified);

  // The partner's document: check each update against it, then apply it, in order.
  const author_ = { partnerId: partner, clientIds: new Set([typist.clientID]) };
  const warmDoc = new Y.Doc();
  Y.applyUpdate(warmDoc, space.update);
  for (const u of warm) {
    model.checkRemoteUpdate(warmDoc, u, author_);
    Y.applyUpdate(warmDoc, u);
  }
  const doc = new Y.Doc();
  Y.applyUpdate(doc, space.update);
  for (const u of warm) Y.applyUpdate(doc, u);
  let refused = 0;
  let checkMs = 0;
  let applyMs = 0;
  const cpu = process.cpuUsage();
  for (const u of keys) {
    const t0 = performance.now();
    if (!model.checkRemoteUpdate(doc, u, author_).ok) refused++;
    const t1 = performance.now();
    Y.applyUpdate(doc, u);
    checkMs += t1 - t0;
    applyMs += performance.now() - t1;
  }
  const used = process.cpuUsage(cpu);
  return {
    space: label,
    keystrokes: keys.length,
    updateBytes: Math.round(keys.reduce((n, u) => n + u.byteLength, 0) / keys.length),
    envelopeBytes: Math.round(envelopes.reduce((n, e) => n + e.byteLength, 0) / keys.length),
    sealMs: sealing,
    verifyMs: verifying,
    verifyAheadMs: verifyingAhead,
    decryptMs: decrypting,
    checkMeanMs: Number((checkMs / keys.length).toFixed(3)),
    applyMeanMs: Number((applyMs / keys.length).toFixed(3)),
    checkAndApplyCpuMs: Number(((used.user + used.system) / 1000 / keys.length).toFixed(3)),
    refused,
  };
}

function smallSpace() {
  const doc = new Y.Doc();
  const at = Date.now();
  model.initSpace(doc, { name: 'Our space', createdAt: at });
  for (const [i, name] of ['Sam', 'Alex'].entries()) {
    model.addPartner(doc, {
      id: model.randomId(),
      displayName: name,
      joinedAt: at + i,
      color: '#3b6e8f',
    });
  }
  const by = model.listPartners(doc)[0].id;
  for (let i = 0; i < 3; i++) {
    model.proposeAgreement(doc, { title: `Agreement ${i + 1}`, body: 'We agree to ', by, at });
  }
  return { doc, update: Y.encodeStateAsUpdate(doc) };
}

/** Median and range of `values`, in ms to one decimal. */
function spread(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const r = (x) => Number(x.toFixed(1));
  return { median: r(sorted[sorted.length >> 1]), min: r(sorted[0]), max: r(sorted.at(-1)) };
}

/**
 * A fresh device takes in the five-year space as a snapshot: each step on its own, then the
 * whole `SealedReplica.receive`, ROUNDS times (medians and ranges: the machine may be shared).
 * The working document listens for updates, as every device's does (the provider, the local
 * copy): Yjs then encodes what each transaction changed, the snapshot's apply included. For
 * comparison, the same receive by a device whose log already holds a prefix of the space, which
 * reads the snapshot for what it would hide (`snapshotHides`) before applying it.
 */
async function snapshotSteps(space) {
  const spaceId = model.randomId();
  const keyring = new SpaceKeyring(spaceId);
  keyring.add(1, newSpaceKey());
  const author = newDeviceIdentity();
  const cpuNotes = {};
  const time = (fn, cpuName) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const value = fn();
    const used = process.cpuUsage(cpu);
    if (cpuName) (cpuNotes[cpuName] ??= []).push((used.user + used.system) / 1000);
    return [value, performance.now() - started];
  };
  const members = [
    {
      device: author.signing.publicKey,
      partnerId: model.randomId(),
      agreementKey: author.agreement.publicKey,
      seq: 1,
    },
  ];
  const snapshotEnvelope = (yjsState, seq) =>
    sealEnvelope({
      identity: author,
      keyring,
      kind: EnvelopeKind.snapshot,
      stream: 1,
      counter: 0,
      covers: { seq, hash: new Uint8Array(32) },
      payload: encodeSnapshotPayload({ yjsState, heads: [], members, links: [] }),
    });
  const listening = () => {
    const doc = new Y.Doc();
    doc.on('update', () => {});
    return doc;
  };
  const replicaOn = (doc) => new SealedReplica({ doc, keyring, creator: author.signing.publicKey });
  const [sealed, sealMs] = time(() => snapshotEnvelope(space.update, 2));
  const prefix = snapshotEnvelope(space.base, 1).bytes;
  const steps = {};
  const note = (name, ms) => (steps[name] ??= []).push(ms);
  const receipts = new Set();
  for (let round = 0; round < ROUNDS; round++) {
    const [verified, verifyMs] = time(() => verifyEnvelope(sealed.bytes, spaceId));
    note('verify', verifyMs);
    // As the device does first (SealedProvider#take), on a fresh copy: wall time, since the
    // platform's part runs off this thread.
    const aheadStarted = performance.now();
    await verifyEnvelopeAhead(sealed.bytes.slice(), spaceId);
    note('verifyAhead', performance.now() - aheadStarted);
    const [plain, decryptMs] = time(() => decryptEnvelope(verified, keyring));
    note('decrypt', decryptMs);
    const [snapshot, decodeMs] = time(() => decodeSnapshotPayload(plain));
    note('decodePayload', decodeMs);
    // What `snapshotHides` reads of the state (only for a log that already holds something).
    note(
      'readStateForCheck',
      time(() => {
        Y.encodeStateVectorFromUpdate(snapshot.yjsState);
        return Y.decodeUpdate(snapshot.yjsState);
      })[1],
    );
    // The model's full structural check of an update (what the server runs on every update),
    // against a replica that holds nothing: is it cheaper than the apply it would stand in for?
    note(
      'shapeCheck',
      time(() => {
        if (!model.checkUpdateShape(snapshot.yjsState, () => 0).ok) throw new Error('shape');
      })[1],
    );
    note('applyToNewDoc', time(() => Y.applyUpdate(new Y.Doc(), snapshot.yjsState))[1]);
    note('applyToListeningDoc', time(() => Y.applyUpdate(listening(), snapshot.yjsState))[1]);
    const fresh = replicaOn(listening());
    const [receipt, receiveMs] = time(() => fresh.receive(2, sealed.bytes), 'wholeReceive');
    receipts.add(receipt.kind);
    note('wholeReceive', receiveMs);
    const behind = replicaOn(listening());
    receipts.add(behind.receive(1, prefix).kind);
    const [caughtUp, catchUpMs] = time(
      () => behind.receive(2, sealed.bytes),
      'wholeReceiveHoldingPrefix',
    );
    receipts.add(caughtUp.kind);
    note('wholeReceiveHoldingPrefix', catchUpMs);
  }
  return {
    snapshotEnvelopeBytes: sealed.bytes.byteLength,
    rounds: ROUNDS,
    sealMs: Number(sealMs.toFixed(1)),
    ...Object.fromEntries(Object.entries(steps).map(([name, ms]) => [`${name}Ms`, spread(ms)])),
    // The process's CPU time (GC helper threads included), less inflated by other work.
    ...Object.fromEntries(
      Object.entries(cpuNotes).map(([name, ms]) => [`${name}CpuMs`, spread(ms)]),
    ),
    receipts: [...receipts],
  };
}

function fiveYearSpace() {
  // The space's first state on its own: what a device that synced early already holds.
  const first = new Y.Doc();
  model.initSpace(first, { name: 'Our space', createdAt: Date.UTC(2021, 0, 1) });
  for (const [i, name] of ['Sam', 'Alex'].entries()) {
    const id = `partner-${'ab'[i].repeat(12)}`;
    model.addPartner(first, {
      id,
      displayName: name,
      joinedAt: Date.UTC(2021, 0, 1),
      color: '#3b6e8f',
    });
  }
  const base = Y.encodeStateAsUpdate(first);
  const { update } = buildFiveYears({ base });
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return { doc, update, base };
}

const fiveYears = fiveYearSpace();
console.log(
  JSON.stringify(
    {
      node: process.version,
      loadAverage: (await import('node:os')).loadavg(),
      results: [await measure(smallSpace(), 'small'), await measure(fiveYears, 'five years')],
      freshDeviceSnapshot: await snapshotSteps(fiveYears),
    },
    null,
    2,
  ),
);
