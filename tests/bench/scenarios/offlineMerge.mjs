// Scenario 4: both partners edit offline (1,000 edits each), then reconnect at the same moment:
// the time until both documents are identical.
import { performance } from 'node:perf_hooks';
import * as model from '@mend/model';
import * as Y from 'yjs';
import { partnerClient, withTimeout } from '../lib/clients.mjs';
import { identical, until } from '../lib/docs.mjs';
import { launch } from '../lib/launch.mjs';
import { round } from '../lib/stats.mjs';

const AGREEMENTS = 5;

/** A sealed space's devices check the model's rules: there `by` proposes them through the model. */
function seed(doc, by) {
  if (by) {
    for (let i = 0; i < AGREEMENTS; i++) {
      const body = 'We agree to talk before we decide anything about the house.';
      model.proposeAgreement(doc, { title: `Agreement ${i + 1}`, body, by, at: Date.now() });
    }
    return;
  }
  const agreements = doc.getMap('agreements');
  doc.transact(() => {
    for (let i = 0; i < AGREEMENTS; i++) {
      const agreement = new Y.Map();
      agreement.set('id', `offline-${i}`);
      agreement.set('title', new Y.Text(`Agreement ${i + 1}`));
      agreement.set(
        'body',
        new Y.Text('We agree to talk before we decide anything about the house.'),
      );
      agreement.set('createdBy', 'bench');
      agreement.set('createdAt', Date.now());
      agreements.set(`offline-${i}`, agreement);
    }
  });
}

function editOffline(doc, edits, random) {
  const bodies = [...doc.getMap('agreements').values()].map((a) => a.get('body'));
  for (let i = 0; i < edits; i++) {
    const body = bodies[i % bodies.length];
    const at = Math.floor(random() * (body.length + 1));
    // One transaction per edit: each is its own update, as typing offline produces them.
    if (i % 5 === 4 && body.length > 40) body.delete(Math.min(at, body.length - 10), 4);
    else body.insert(at, ` word${i}`);
  }
}

/**
 * `mend-sealed` (the bench's device) seals every offline edit into its own envelope;
 * `mend-sealed-batched` seals what was edited offline as one envelope on reconnect;
 * `mend-sealed-provider` is the app's SealedProvider (outbox in memory), with the server's
 * default limits, since it paces its resend under them.
 */
export async function offlineMergeRound(name, { template, edits = 1000, seed: s = 1 }) {
  const sealed = name.startsWith('mend-sealed');
  // The sealed socket's default budget is a burst of 400 messages, then 100 a second: 1,000
  // envelopes sent at once would be refused (1013). Lifted here to measure what the merge costs
  // beyond that limit; docs/benchmarks.md gives the floor the limit sets.
  const provider = name === 'mend-sealed-provider';
  const { target, couples } = await launch(
    sealed ? 'mend-sealed' : name,
    1,
    template,
    sealed && !provider ? { limits: { messageBurst: 4 * edits } } : {},
  );
  const [couple] = couples;
  const options = { batchOffline: name === 'mend-sealed-batched', provider };
  let a;
  let b;
  try {
    a = partnerClient(target, couple, 0, options);
    b = partnerClient(target, couple, 1, options);
    await withTimeout(Promise.all([a.ready(), b.ready()]), 30_000, 'first sync');
    seed(a.doc, couple.devices?.[0].partnerId);
    await withTimeout(
      until([b.doc], () => b.doc.getMap('agreements').size === AGREEMENTS),
      30_000,
      'seed',
    );
    await Promise.all([a.disconnect(), b.disconnect()]);
    let state = s;
    const random = () => (state = (state * 1103515245 + 12345) >>> 0) / 4294967296;
    editOffline(a.doc, edits, random);
    editOffline(b.doc, edits, random);
    const bytesBefore = a.counter.bytesIn + b.counter.bytesIn;
    const sentBefore = a.counter.bytesOut + b.counter.bytesOut;

    const started = performance.now();
    a.connect();
    b.connect();
    await withTimeout(
      until([a.doc, b.doc], () => identical(a.doc, b.doc)),
      60_000,
      'offline merge',
    );
    const mergeMs = performance.now() - started;
    const setAside = (a.setAside?.length ?? 0) + (b.setAside?.length ?? 0);
    return {
      target: name,
      ...(setAside > 0 ? { setAside } : {}),
      editsPerClient: edits,
      mergeMs: round(mergeMs, 1),
      bytesReceived: a.counter.bytesIn + b.counter.bytesIn - bytesBefore,
      bytesSent: a.counter.bytesOut + b.counter.bytesOut - sentBefore,
      bodyLength: [...a.doc.getMap('agreements').values()].reduce(
        (n, x) => n + x.get('body').length,
        0,
      ),
    };
  } finally {
    a?.destroy();
    b?.destroy();
    await target.stop();
  }
}
