// Test support only (excluded from the build): what a dishonest device with the space's key
// might send. Each forgery writes on the sequenced state under a client id the caller gives it.
import fc from 'fast-check';
import * as Y from 'yjs';
import { checkinKey } from '../checkins.js';
import { answerKeyCommitment, hex32, sealedText } from '../revealBytes.js';
import { shareKey } from '../shares.js';
import { counterIds, deviceKeyOf, A, B, T0 } from './fixtures.js';
import type { PartnerId } from '../ids.js';
import { Root } from '../schema.js';
import { honestOp, performHonestly, type HonestOp } from './honestOps.js';
import { encodeUpdate } from './craftedUpdates.js';
import { writtenOn, type SealedRun } from './sealedRun.js';

export interface Forgery {
  readonly label: string;
  write(run: SealedRun, forger: PartnerId, client: number): Uint8Array;
}

const other = (partner: PartnerId): PartnerId => (partner === A ? B : A);
const newId = counterIds('forged-id-');

/** Values a forger might put anywhere: plausible ones (ids of both partners, records), and junk. */
const VALUES: readonly ((forger: PartnerId) => unknown)[] = [
  () => 'x',
  () => '',
  (f) => f,
  (f) => other(f),
  () => 0,
  () => 7,
  () => 11,
  () => -1,
  () => 1.5,
  () => T0,
  () => true,
  () => null,
  () => ({ fingerprint: 'f', at: T0 }),
  (f) => ({ by: f, at: T0, fingerprint: 'f' }),
  (f) => ({ by: other(f), at: T0, fingerprint: 'f' }),
  () => ({ at: T0, items: [] }),
  (f) => ({
    id: 'keepXXXXXXXXXXXXXXXX',
    date: '2026-11-01',
    partnerId: f,
    value: 'kept',
    note: '',
    at: T0,
  }),
  (f) => ({ title: 't', body: 'b', fingerprint: 'f', acceptedBy: f, at: T0 }),
  () => ['sad', 'tired'],
  () => ['tired', 'sad'],
  () => 20,
  // A reveal's parts: an answer, a key, a follow-up, each plausible in the forger's name.
  () => ({
    answerId: 'answerXXXXXXXXXXXXXX',
    sealed: sealedText(new Uint8Array(64)),
    commitment: hex32(answerKeyCommitment(new Uint8Array(32))),
    at: T0,
  }),
  () => ({ key: hex32(new Uint8Array(32)), at: T0 }),
  (f) => ({ id: 'followXXXXXXXXXXXXXX', by: f, text: 'Also.', at: T0 }),
  // Repairs and meetings: a step five, a completion, a draft link, an issue, a meeting day.
  (f) => ({ id: 'versionXXXXXXXXXXXXX', by: f, text: 'Pause.', at: T0 }),
  (f) => ({ by: f, at: T0, nextTime: [] }),
  () => ({ agreementId: 'agreementXXXXXXXXXXX', at: T0 }),
  (f) => ({ repairId: 'repairXXXXXXXXXXXXXX', week: '2026-10-26', by: f, at: T0 }),
  (f) => ({ weekday: 3, by: f, at: T0 }),
  () => ({ text: 'It went well.', at: T0 }),
  // A check-in's private part, whole and of its note.
  () => ({ scope: 'checkin', sealed: 'c2VhbGVk' }),
  () => ({ scope: 'note', sealed: 'c2VhbGVk' }),
  () => new Y.Map(),
  () => new Y.Text('t'),
  () => new Y.Array(),
  // A device's name and when it was added.
  () => "Alex's phone",
  () => new Date(T0).toISOString(),
];

const FIELDS = [
  'id',
  'name',
  'createdAt',
  'createdBy',
  'displayName',
  'role',
  'lifecycle',
  'lifecycleBy',
  'text',
  'owner',
  'acknowledgement',
  'safety',
  'state',
  'note',
  'private',
  'acceptances',
  'history',
  'by',
  'status',
  'schemaVersion',
  'heard',
  'feelings',
  'needs',
  'minutes',
  'calledAt',
  'endedAt',
  'prompt',
  'kind',
  'answers',
  'keys',
  'followUps',
  'nextTime',
  'drafts',
  'completed',
  'steps',
  'appreciations',
  'wentWell',
  'issue',
  'meetingDay',
  'week',
  '2026-10-26:' + A,
  '2026-10-26:' + B,
  A,
  B,
  checkinKey('2026-11-01', A),
  checkinKey('2026-11-01', B),
  shareKey('2026-10-31', A),
  // Device names: an entry's fields, and the keys of devices the runs name.
  'partnerId',
  'addedAt',
  deviceKeyOf('a1'),
  deviceKeyOf('b1'),
  'stray',
];

const raw = fc.record({
  target: fc.nat(),
  action: fc.constantFrom('set', 'remove'),
  key: fc.oneof(
    fc.nat().map((n) => ({ existing: n })),
    fc.constantFrom(...FIELDS),
  ),
  value: fc.nat({ max: VALUES.length - 1 }),
  pos: fc.nat({ max: 50 }),
  len: fc.integer({ min: 1, max: 3 }),
});
type Raw = typeof raw extends fc.Arbitrary<infer T> ? T : never;

/** Every Y type in the space, roots first (and one root no space has). */
function typesOf(doc: Y.Doc): (Y.Map<unknown> | Y.Array<unknown> | Y.Text)[] {
  const out: (Y.Map<unknown> | Y.Array<unknown> | Y.Text)[] = [
    ...Object.values(Root).map((name) => doc.getMap<unknown>(name)),
    doc.getMap<unknown>('stray'),
  ];
  for (let i = 0; i < out.length; i++) {
    const type = out[i]!;
    const children =
      type instanceof Y.Map ? [...type.values()] : type instanceof Y.Array ? type.toArray() : [];
    for (const child of children) {
      if (child instanceof Y.Map || child instanceof Y.Array || child instanceof Y.Text)
        out.push(child);
    }
  }
  return out;
}

function writeRaw(doc: Y.Doc, r: Raw, forger: PartnerId): void {
  const types = typesOf(doc);
  const type = types[r.target % types.length]!;
  const value = () => VALUES[r.value]!(forger);
  if (type instanceof Y.Map) {
    const keys = [...type.keys()];
    const key = typeof r.key === 'string' ? r.key : keys[r.key.existing % Math.max(1, keys.length)];
    if (key === undefined) return;
    if (r.action === 'set') type.set(key, value());
    else type.delete(key);
    return;
  }
  const at = r.pos % (type.length + 1);
  if (r.action === 'remove') {
    if (type.length > 0)
      type.delete(r.pos % type.length, Math.min(r.len, type.length - (r.pos % type.length)));
    return;
  }
  if (type instanceof Y.Text) {
    if (r.value % 3 === 0) type.format(0, Math.min(1, type.length), { bold: true });
    else type.insert(at, 'x');
  } else type.insert(at, [value()]);
}

/** Bytes of an honest update, broken: flipped, cut short or padded. */
const breakage = fc.record({
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  pad: fc.uint8Array({ maxLength: 4 }),
});

function rawForgery(): fc.Arbitrary<Forgery> {
  return fc.array(raw, { minLength: 1, maxLength: 3 }).map((writes) => ({
    label: `raw ${writes.map((w) => w.action).join(', ')}`,
    write: (run: SealedRun, forger: PartnerId, client: number) =>
      writtenOn(run.sequenced, client, (doc) => {
        for (const w of writes) writeRaw(doc, w, forger);
      }),
  }));
}

function honestly(run: SealedRun, client: number, partner: PartnerId, op: HonestOp): Uint8Array {
  return writtenOn(run.sequenced, client, (doc) =>
    // A device key no honest device has: a forger squatting on one would only race it.
    performHonestly(doc, partner, op, T0 + 99, newId, {
      deviceKey: deviceKeyOf(`forged-${client}`),
    }),
  );
}

/**
 * Structs written by hand: items next to, inside or under any item the space holds (also inside
 * a run of clocks), with any content, and deletions of any range. What no Yjs API writes, and
 * what the checker's own mirror of Yjs's placement must get right.
 */
const craftedItem = fc.record({
  content: fc.oneof(
    fc.constantFrom('x', 'yz').map((text) => ({ text })),
    fc.nat({ max: 15 }).map((value) => ({ value })),
    fc.integer({ min: 1, max: 3 }).map((deleted) => ({ deleted })),
  ),
  origin: fc.option(fc.nat(), { nil: undefined }),
  rightOrigin: fc.option(fc.nat(), { nil: undefined }),
  /** Hang it after an item earlier in this update instead. */
  afterOwn: fc.boolean(),
  parent: fc.oneof(fc.nat(), fc.constantFrom<string>(...Object.values(Root), 'stray')),
  parentSub: fc.option(fc.constantFrom(...FIELDS), { nil: undefined }),
});
const crafted = fc.record({
  items: fc.array(craftedItem, { minLength: 1, maxLength: 3 }),
  deletions: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 3 })), { maxLength: 2 }),
});

function craftedForgery(): fc.Arbitrary<Forgery> {
  return crafted.map((c) => ({
    label: 'crafted structs',
    write: (run: SealedRun, forger: PartnerId, client: number) => {
      const ids: Y.ID[] = [];
      for (const structs of run.sequenced.store.clients.values()) {
        for (const struct of structs) {
          if (!(struct instanceof Y.Item)) continue;
          for (let k = 0; k < struct.length; k++) {
            ids.push(Y.createID(struct.id.client, struct.id.clock + k));
          }
        }
      }
      const pick = (n: number) => ids[n % Math.max(1, ids.length)];
      let clock = Y.getState(run.sequenced.store, client);
      const structs = c.items.map((item) => {
        const own = item.afterOwn && clock > 0 ? { client, clock: clock - 1 } : undefined;
        const origin = own ?? (item.origin === undefined ? undefined : pick(item.origin));
        const rightOrigin = item.rightOrigin === undefined ? undefined : pick(item.rightOrigin);
        const parent = typeof item.parent === 'string' ? item.parent : pick(item.parent);
        const content =
          'value' in item.content
            ? { value: VALUES[item.content.value % 12]!(forger) }
            : item.content;
        clock +=
          'text' in content ? content.text.length : 'deleted' in content ? content.deleted : 1;
        return {
          ...content,
          ...(origin ? { origin } : {}),
          ...(rightOrigin ? { rightOrigin } : {}),
          ...(parent ? { parent } : {}),
          ...(item.parentSub === undefined ? {} : { parentSub: item.parentSub }),
        };
      });
      const byClient = new Map<number, [number, number][]>();
      for (const [n, len] of c.deletions) {
        const id = pick(n);
        if (!id) continue;
        byClient.set(id.client, [...(byClient.get(id.client) ?? []), [id.clock, len]]);
      }
      const deletions = [...byClient].map(([c2, ranges]) => ({
        client: c2,
        ranges: ranges.sort((a, b) => a[0] - b[0]),
      }));
      return encodeUpdate(
        [{ client, clock: Y.getState(run.sequenced.store, client), structs }],
        deletions,
      );
    },
  }));
}

export const forgery: fc.Arbitrary<Forgery> = fc.oneof(
  { weight: 3, arbitrary: rawForgery() },
  { weight: 3, arbitrary: craftedForgery() },
  honestOp.map((op) => ({
    label: `${op.t} in the other partner's name`,
    write: (run: SealedRun, forger: PartnerId, client: number) =>
      honestly(run, client, other(forger), op),
  })),
  honestOp.map((op) => ({
    label: `${op.t} by the forger itself`,
    write: (run: SealedRun, forger: PartnerId, client: number) => honestly(run, client, forger, op),
  })),
  fc.tuple(honestOp, fc.nat({ max: 1 })).map(([op, which]) => ({
    label: `${op.t} under the other partner's device`,
    write: (run: SealedRun, forger: PartnerId) => {
      const victims = run.devices.filter((d) => d.partnerId !== forger);
      return honestly(run, victims[which]!.doc.clientID, forger, op);
    },
  })),
  fc.tuple(honestOp, breakage).map(([op, b]) => ({
    label: `${op.t}, broken`,
    write: (run: SealedRun, forger: PartnerId, client: number) => {
      const bytes = honestly(run, client, forger, op);
      for (const [at, xor] of b.flips) bytes[at % bytes.length]! ^= xor;
      const cut = b.cut === undefined ? bytes : bytes.slice(0, b.cut % bytes.length);
      return new Uint8Array([...cut, ...b.pad]);
    },
  })),
);
