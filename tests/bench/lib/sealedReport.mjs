// The sealed-space goals of issue 12 against this run's medians, the bytes of one keystroke on
// the wire, and the sealed five-year space on disk: the tables for docs/benchmarks.md,
// "Sealed spaces".
import { spread } from './stats.mjs';

const fmt = (value, digits = 1) =>
  value === null || !Number.isFinite(value) ? '–' : value.toFixed(digits);
const times = (mine, theirs) => (theirs > 0 ? mine / theirs : NaN);

function table(header, rows) {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

const median = (rounds, target, pick) =>
  spread((rounds ?? []).filter((r) => r.target === target).map(pick)).median;

/** KB per couple of `target` at `couples` (median over rounds). */
function memoryAt(rounds, target, couples) {
  const steps = rounds.filter((r) => r.target === target).flatMap((r) => r.steps);
  return (
    spread(steps.filter((s) => s.couples === couples).map((s) => s.bytesPerCouple)).median / 1024
  );
}

/** The step the issue names (4,000 couples), or else the largest both targets reached. */
function comparableStep(rounds, a, b) {
  const reached = (t) =>
    new Set(rounds.filter((r) => r.target === t).flatMap((r) => r.steps.map((s) => s.couples)));
  const both = [...reached(a)].filter((c) => reached(b).has(c));
  return both.includes(4000) ? 4000 : Math.max(...both);
}

export function sealedTargetsTable(results) {
  const s = results.scenarios;
  const rows = [];
  const add = (what, measured, limit, ratio) =>
    rows.push([
      what,
      measured,
      limit,
      ratio === null
        ? '–'
        : Number.isFinite(ratio.value)
          ? ratio.value <= ratio.limit
            ? 'met'
            : 'missed'
          : '–',
    ]);
  if (s.latency) {
    const p = (t, q) => median(s.latency.rounds, t, (r) => r.latencyMs[q]);
    const r50 = times(p('mend-sealed', 'p50'), p('relay', 'p50'));
    const r99 = times(p('mend-sealed', 'p99'), p('yws', 'p99'));
    add(
      `latency p50 vs raw relay (${s.latency.couples} couples)`,
      `${fmt(p('mend-sealed', 'p50'), 2)} ms vs ${fmt(p('relay', 'p50'), 2)} ms = ${fmt(r50, 2)}×`,
      '≤ 1.5×',
      { value: r50, limit: 1.5 },
    );
    add(
      'latency p99 vs y-websocket reference',
      `${fmt(p('mend-sealed', 'p99'), 1)} ms vs ${fmt(p('yws', 'p99'), 1)} ms = ${fmt(r99, 2)}×`,
      '≤ 1.0×',
      { value: r99, limit: 1.0 },
    );
    const cpu = (t, key = 'serverCpuPerEditUs') => median(s.latency.rounds, t, (r) => r[key]);
    const above = 'serverCpuPerEditAboveIdleUs';
    add(
      'server CPU per edit vs y-websocket reference',
      `${fmt(cpu('mend-sealed'), 0)} µs (${fmt(cpu('mend-sealed', above), 0)} above idle); reference ${fmt(cpu('yws'), 0)} (${fmt(cpu('yws', above), 0)}), relay ${fmt(cpu('relay'), 0)} (${fmt(cpu('relay', above), 0)})`,
      '≤ 1.0×',
      { value: times(cpu('mend-sealed'), cpu('yws')), limit: 1.0 },
    );
  }
  const at = s.capacity ? comparableStep(s.capacity.rounds, 'mend-sealed', 'relay') : NaN;
  if (Number.isFinite(at)) {
    const rounds = s.capacity.rounds;
    const mine = memoryAt(rounds, 'mend-sealed', at);
    const relay = memoryAt(rounds, 'relay', at);
    add(
      `idle memory per connected couple vs raw relay (at ${at})`,
      `${fmt(mine, 1)} KB vs ${fmt(relay, 1)} KB = ${fmt(times(mine, relay), 2)}×`,
      '≤ 1.3×',
      { value: times(mine, relay), limit: 1.3 },
    );
  }
  const vsReference = (what, rounds, target, pick) => {
    const mine = median(rounds, target, pick);
    const reference = median(rounds, 'yws', pick);
    add(
      what,
      `${fmt(mine, 0)} ms vs ${fmt(reference, 0)} ms = ${fmt(times(mine, reference), 2)}×`,
      '≤ 1.0×',
      { value: times(mine, reference), limit: 1.0 },
    );
  };
  if (s.coldLoad) {
    vsReference(
      'cold load on a fresh device vs reference serving plaintext',
      s.coldLoad.rounds,
      'mend-sealed',
      (r) => r.completeMs,
    );
  }
  if (s.offlineMerge) {
    const merge = (r) => r.mergeMs;
    vsReference(
      'offline merge vs reference (an envelope per edit)',
      s.offlineMerge.rounds,
      'mend-sealed',
      merge,
    );
    vsReference(
      'offline merge vs reference (offline edits in one envelope)',
      s.offlineMerge.rounds,
      'mend-sealed-batched',
      merge,
    );
    if (s.offlineMerge.rounds.some((r) => r.target === 'mend-sealed-provider')) {
      vsReference(
        'offline merge vs reference (SealedProvider)',
        s.offlineMerge.rounds,
        'mend-sealed-provider',
        merge,
      );
    }
  }
  if (s.sealedSpace) {
    const { storage, encodedStateBytes } = s.sealedSpace;
    const ratio = times(storage.bytesInUse, encodedStateBytes);
    add(
      'stored bytes (snapshot + tail) vs encoded state',
      `${storage.bytesInUse} vs ${encodedStateBytes} = ${fmt(ratio, 2)}× (SQLite pages in use, whole file)`,
      '≤ 1.5×',
      { value: ratio, limit: 1.5 },
    );
  }
  if (s.wire) {
    const [plain, sealed] = s.wire.rows;
    const total = (row) => row.wire.sent + row.wire.back + row.wire.toPartner;
    add(
      'bytes on the wire per keystroke vs y-websocket',
      `${total(sealed)} vs ${total(plain)} = ${fmt(times(total(sealed), total(plain)), 1)}×`,
      'reported',
      null,
    );
  }
  return table(['goal (issue 12)', 'measured (medians)', 'goal', ''], rows);
}

/**
 * What the sealed devices themselves spent per envelope in the latency rounds, and how busy the
 * load generator (every device of the run, on one core) was: above about 0.7 of a core the
 * generator, not the server, sets the latency.
 */
export function sealedWorkTable(results) {
  const latency = results.scenarios.latency;
  const rounds = latency?.rounds.filter((r) => r.target === 'mend-sealed') ?? [];
  if (rounds.length === 0) return '';
  const m = (pick) => spread(rounds.map(pick)).median;
  const generator = (t) =>
    median(latency.rounds, t, (r) => r.generatorEventLoopDelay.cpuUtilisation ?? NaN);
  return table(
    [
      'seal ms per envelope (on the device’s thread)',
      'take in ms per envelope (verify, decrypt, check, apply)',
      'generator CPU (cores): sealed',
      'yws',
      'relay',
    ],
    [
      [
        fmt(
          m((r) => r.sealedClientMs?.sealPerEnvelope ?? NaN),
          2,
        ),
        fmt(
          m((r) => r.sealedClientMs?.takeInPerEnvelope ?? NaN),
          2,
        ),
        fmt(generator('mend-sealed'), 2),
        fmt(generator('yws'), 2),
        fmt(generator('relay'), 2),
      ],
    ],
  );
}

/** One keystroke, worked out from the encoders; and per edit as counted in the latency rounds. */
export function wireTable(results) {
  const out = [];
  const w = results.scenarios.wire;
  if (w) {
    out.push(
      `One keystroke: a ${w.yjsUpdateBytes}-byte Yjs update; sealed, a ${w.envelopeBytes}-byte envelope. Bytes with WebSocket framing (payload in brackets).\n`,
    );
    out.push(
      table(
        ['protocol', 'device → server', 'server → device (ack)', 'server → partner', 'total'],
        w.rows.map((r) => [
          r.label,
          `${r.wire.sent} (${r.payload.sent})`,
          `${r.wire.back} (${r.payload.back})`,
          `${r.wire.toPartner} (${r.payload.toPartner})`,
          String(r.wire.sent + r.wire.back + r.wire.toPartner),
        ]),
      ),
    );
  }
  const latency = results.scenarios.latency;
  if (latency?.rounds.some((r) => r.wireBytesPerEdit)) {
    const targets = [...new Set(latency.rounds.map((r) => r.target))];
    const m = (t, key) => median(latency.rounds, t, (r) => r.wireBytesPerEdit?.[key] ?? NaN);
    out.push(
      `\nPer edit in the latency rounds (a word typed, ~12 characters; every socket's payload bytes, presence and pings included):\n`,
    );
    out.push(
      table(
        ['target', 'sent per edit', 'received per edit', 'messages sent', 'messages received'],
        targets.map((t) => [
          t,
          fmt(m(t, 'sent'), 0),
          fmt(m(t, 'received'), 0),
          fmt(m(t, 'messagesSent'), 2),
          fmt(m(t, 'messagesReceived'), 2),
        ]),
      ),
    );
  }
  return out.join('\n');
}
