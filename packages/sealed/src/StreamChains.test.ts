import { EnvelopeKind, ZERO_HASH, type EnvelopeHeader, type SpaceId } from '@mend/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 } from './crypto.js';
import { SealedError } from './errors.js';
import { ChainProblem, StreamChains, type ChainCheck } from './StreamChains.js';

const spaceId = 'space_0123456789abcdef' as SpaceId;
const authors = [1, 2, 3].map((n) => new Uint8Array(32).fill(n));

interface Sent {
  readonly header: EnvelopeHeader;
  readonly hash: Uint8Array;
}

function header(
  author: Uint8Array,
  stream: number,
  counter: number,
  prev: Uint8Array,
  kind: EnvelopeKind = EnvelopeKind.update,
): EnvelopeHeader {
  return { version: 1, kind, spaceId, epoch: 1, author, stream, counter, prev, covers: null };
}

const hashOf = (label: string) => sha256(new TextEncoder().encode(label));

/** One stream's honest chain: counters 1..n, each naming the one before. */
function chain(author: Uint8Array, stream: number, n: number, variant = ''): Sent[] {
  const out: Sent[] = [];
  let prev = ZERO_HASH;
  for (let counter = 1; counter <= n; counter++) {
    const hash = hashOf(`${stream}/${counter}${variant}`);
    out.push({ header: header(author, stream, counter, prev), hash });
    prev = hash;
  }
  return out;
}

const scenario = fc
  .record({
    streams: fc.array(
      fc.record({ author: fc.nat(authors.length - 1), length: fc.integer({ min: 1, max: 6 }) }),
      { minLength: 1, maxLength: 4 },
    ),
    picks: fc.array(fc.nat(), { maxLength: 30 }),
  })
  .map(({ streams, picks }) => {
    const chains = streams.map((s, i) => chain(authors[s.author]!, 100 + i, s.length));
    // Interleave the chains in an order the picks choose, each chain staying in its own order.
    const cursors = chains.map(() => 0);
    const delivery: Sent[] = [];
    const total = chains.reduce((n, c) => n + c.length, 0);
    for (let i = 0; delivery.length < total; i++) {
      const open = chains.map((_, s) => s).filter((s) => cursors[s]! < chains[s]!.length);
      const s = open[(picks[i] ?? 0) % open.length]!;
      delivery.push(chains[s]![cursors[s]!]!);
      cursors[s]! += 1;
    }
    return { chains, delivery };
  });

/** Feeds a delivery to a fresh verifier; what each step said. */
function run(delivery: readonly Sent[]): ChainCheck[] {
  const chains = new StreamChains();
  return delivery.map((s) => chains.accept(s.header, s.hash));
}

function firstFailure(verdicts: readonly ChainCheck[]) {
  const at = verdicts.findIndex((v) => !v.ok);
  const verdict = verdicts[at];
  return { at, problem: verdict && !verdict.ok ? verdict.problem : undefined };
}

describe('StreamChains over honest deliveries', () => {
  it('accepts every interleaving of several streams’ honest envelopes, in order', () => {
    fc.assert(
      fc.property(scenario, ({ chains, delivery }) => {
        const verifier = new StreamChains();
        for (const s of delivery) expect(verifier.accept(s.header, s.hash)).toEqual({ ok: true });
        for (const c of chains) {
          const last = c.at(-1)!;
          expect(verifier.head(last.header.stream)).toMatchObject({
            counter: last.header.counter,
            hash: last.hash,
            author: last.header.author,
          });
        }
      }),
    );
  });

  it('heads carried in a snapshot let a fresh device continue the chains', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ delivery }, cut) => {
        const at = cut % (delivery.length + 1);
        const writer = new StreamChains();
        delivery.slice(0, at).forEach((s, i) => {
          writer.accept(s.header, s.hash);
          writer.acceptSeq(i + 1);
        });
        const reader = new StreamChains();
        expect(reader.acceptSnapshot(at, writer.heads())).toEqual({ ok: true });
        expect(reader.seq).toBe(at);
        for (const s of delivery.slice(at)) {
          expect(reader.accept(s.header, s.hash)).toEqual({ ok: true });
        }
        const restored = StreamChains.restore(JSON.parse(JSON.stringify(writer.toStored())));
        expect(restored.heads()).toEqual(writer.heads());
        expect(restored.seq).toBe(writer.seq);
      }),
    );
  });
});

describe('StreamChains detects what a server can do to a delivery', () => {
  it('a replay of any envelope already accepted', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), fc.nat(), ({ delivery }, p, q) => {
        const at = 1 + (p % delivery.length);
        const replayed = delivery[q % at]!;
        const attacked = [...delivery.slice(0, at), replayed, ...delivery.slice(at)];
        const failure = firstFailure(run(attacked));
        expect(failure.at).toBe(at);
        expect([ChainProblem.replayed, ChainProblem.duplicate]).toContain(failure.problem);
      }),
    );
  });

  it('a reorder of two envelopes of one stream', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ delivery }, p) => {
        const pairs = delivery.flatMap((s, i) => {
          const j = delivery.findIndex((t, k) => k > i && t.header.stream === s.header.stream);
          return j === -1 ? [] : [[i, j] as const];
        });
        fc.pre(pairs.length > 0);
        const [i, j] = pairs[p % pairs.length]!;
        const attacked = delivery.slice();
        [attacked[i], attacked[j]] = [attacked[j]!, attacked[i]!];
        const failure = firstFailure(run(attacked));
        expect(failure).toEqual({ at: i, problem: ChainProblem.skipped });
      }),
    );
  });

  it('an envelope dropped and the stream continued', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ delivery }, p) => {
        const droppable = delivery.flatMap((s, i) => {
          const j = delivery.findIndex((t, k) => k > i && t.header.stream === s.header.stream);
          return j === -1 ? [] : [[i, j] as const];
        });
        fc.pre(droppable.length > 0);
        const [i, j] = droppable[p % droppable.length]!;
        const attacked = delivery.filter((_, k) => k !== i);
        const failure = firstFailure(run(attacked));
        expect(failure).toEqual({ at: j - 1, problem: ChainProblem.skipped });
      }),
    );
  });

  it('an envelope swapped for another at the same counter (the next one no longer fits)', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ delivery }, p) => {
        const swappable = delivery.flatMap((s, i) => {
          const j = delivery.findIndex((t, k) => k > i && t.header.stream === s.header.stream);
          return j === -1 ? [] : [[i, j] as const];
        });
        fc.pre(swappable.length > 0);
        const [i, j] = swappable[p % swappable.length]!;
        const attacked = delivery.slice();
        attacked[i] = { ...delivery[i]!, hash: hashOf('another envelope') };
        const failure = firstFailure(run(attacked));
        expect(failure).toEqual({ at: j, problem: ChainProblem.forked });
      }),
    );
  });

  it('a write by another device on a stream already claimed', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), fc.nat(), ({ delivery }, p, who) => {
        const at = 1 + (p % delivery.length);
        const before = new StreamChains();
        for (const s of delivery.slice(0, at)) before.accept(s.header, s.hash);
        const target = before.heads()[who % before.heads().length]!;
        const intruder = authors.find((a) => a[0] !== target.author[0])!;
        // A perfect continuation of the chain in every field but the author.
        const forged: Sent = {
          header: header(intruder, target.stream, target.counter + 1, target.hash),
          hash: hashOf('forged'),
        };
        const attacked = [...delivery.slice(0, at), forged, ...delivery.slice(at)];
        expect(firstFailure(run(attacked))).toEqual({ at, problem: ChainProblem.foreignStream });
      }),
    );
  });
});

describe('the space’s order', () => {
  it('seq must grow by one; a repeat or a jump is reported', () => {
    const chains = new StreamChains();
    expect(chains.acceptSeq(1)).toEqual({ ok: true });
    expect(chains.acceptSeq(2)).toEqual({ ok: true });
    expect(chains.checkSeq(2)).toMatchObject({ ok: false, problem: ChainProblem.replayed });
    expect(chains.checkSeq(1)).toMatchObject({ ok: false, problem: ChainProblem.replayed });
    expect(chains.checkSeq(4)).toMatchObject({ ok: false, problem: ChainProblem.skipped });
    expect(chains.seq).toBe(2);
  });

  it('passes over positions the server left out only forward, and checks the next seq as before', () => {
    const chains = new StreamChains();
    chains.acceptSeq(1);
    expect(chains.passOver(4)).toEqual({ ok: true });
    expect(chains.seq).toBe(4);
    expect(chains.passOver(4)).toMatchObject({ ok: false, problem: ChainProblem.replayed });
    expect(chains.passOver(2)).toMatchObject({ ok: false, problem: ChainProblem.replayed });
    expect(chains.checkSeq(6)).toMatchObject({ ok: false, problem: ChainProblem.skipped });
    expect(chains.acceptSeq(5)).toEqual({ ok: true });
  });

  it('a server whose head is below what it already served has rolled back, also after a reload', () => {
    const chains = new StreamChains();
    for (let seq = 1; seq <= 5; seq++) chains.acceptSeq(seq);
    expect(chains.checkServerHead(5)).toEqual({ ok: true });
    expect(chains.checkServerHead(9)).toEqual({ ok: true });
    const reloaded = StreamChains.restore(JSON.parse(JSON.stringify(chains.toStored())));
    expect(reloaded.checkServerHead(4)).toMatchObject({
      ok: false,
      problem: ChainProblem.rolledBack,
    });
  });

  it('a snapshot that goes back on a stream, leaves one out, or gives it away is refused', () => {
    const a = chain(authors[0]!, 7, 3);
    const b = chain(authors[1]!, 8, 2);
    const chains = new StreamChains();
    for (const s of [...a, ...b]) chains.accept(s.header, s.hash);
    const head = (s: Sent) => ({ ...s.header, hash: s.hash });
    const ahead = chains.seq + 10;
    expect(chains.checkSnapshot(ahead, [head(a[2]!), head(b[1]!)])).toEqual({ ok: true });
    expect(chains.checkSnapshot(ahead, [head(a[1]!), head(b[1]!)])).toMatchObject({
      problem: ChainProblem.rolledBack,
    });
    expect(chains.checkSnapshot(ahead, [head(a[2]!)])).toMatchObject({
      problem: ChainProblem.rolledBack,
    });
    expect(
      chains.checkSnapshot(ahead, [head(a[2]!), { ...head(b[1]!), author: authors[2]! }]),
    ).toMatchObject({ problem: ChainProblem.foreignStream });
    expect(
      chains.checkSnapshot(ahead, [head(a[2]!), { ...head(b[1]!), hash: hashOf('other') }]),
    ).toMatchObject({ problem: ChainProblem.forked });
  });

  it('a snapshot of a prefix this device holds must not claim envelopes it never saw', () => {
    const a = chain(authors[0]!, 7, 3);
    const chains = new StreamChains();
    a.forEach((s, i) => {
      chains.accept(s.header, s.hash);
      chains.acceptSeq(i + 1);
    });
    const head = (s: Sent) => ({ ...s.header, hash: s.hash });
    expect(chains.acceptSnapshot(2, [head(a[1]!)])).toEqual({ ok: true });
    expect(chains.head(7)?.counter).toBe(3);
    expect(chains.seq).toBe(3);
    const beyond = { ...head(a[2]!), counter: 4 };
    expect(chains.checkSnapshot(2, [beyond])).toMatchObject({ problem: ChainProblem.forked });
    const unknown = { ...head(a[0]!), stream: 99 };
    expect(chains.checkSnapshot(2, [unknown])).toMatchObject({ problem: ChainProblem.forked });
  });
});

describe('presence', () => {
  it('counts only from the stream’s owner and only when its counter grows', () => {
    const chains = new StreamChains();
    const [first] = chain(authors[0]!, 7, 1);
    chains.accept(first!.header, first!.hash);
    const presence = (author: Uint8Array, counter: number) =>
      header(author, 7, counter, ZERO_HASH, EnvelopeKind.presence);
    expect(chains.acceptPresence(presence(authors[0]!, 5))).toEqual({ ok: true });
    expect(chains.acceptPresence(presence(authors[0]!, 5))).toMatchObject({
      problem: ChainProblem.replayed,
    });
    expect(chains.acceptPresence(presence(authors[0]!, 6))).toEqual({ ok: true });
    expect(chains.acceptPresence(presence(authors[1]!, 9))).toMatchObject({
      problem: ChainProblem.foreignStream,
    });
    expect(chains.check(presence(authors[0]!, 7), hashOf('p'))).toMatchObject({
      problem: ChainProblem.wrongKind,
    });
    expect(chains.checkPresence(first!.header)).toMatchObject({ problem: ChainProblem.wrongKind });
  });
});

describe('stored chains', () => {
  it('refuses a stored form that is not one', () => {
    const stored = new StreamChains().toStored();
    for (const bad of [
      null,
      { ...stored, v: 2 },
      { ...stored, seq: -1 },
      { ...stored, heads: [{ author: 'AA', stream: 1, counter: 1, hash: 'AA' }] },
      { ...stored, heads: [{ stream: 1 }] },
    ]) {
      expect(() => StreamChains.restore(bad)).toThrow(SealedError);
    }
  });
});
