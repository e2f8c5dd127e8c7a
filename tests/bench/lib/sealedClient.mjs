// A sealed-space device for the bench, built from @mend/sealed's parts (not SealedProvider), so
// every number includes what a real device does: each local change sealed (encrypted, signed,
// chained) into its own envelope, everything the server serves verified, decrypted, checked by
// the model's authorship rules and applied by SealedReplica, strictly in seq order.
import { performance } from 'node:perf_hooks';
import {
  EnvelopeKind,
  SEALED_SUBPROTOCOL,
  SealedMessage,
  decodeServerMessage,
  encodeDeviceMessage,
} from '@mend/protocol';
import {
  REMOTE,
  SealedReplica,
  StreamWriter,
  encodeMemberPayload,
  encodeSnapshotPayload,
  openEnvelope,
  sealEnvelope,
  sealSoon,
  Signing,
  verifyEnvelopeAhead,
  sha256,
} from '@mend/sealed';
import WebSocket from 'ws';
import * as Y from 'yjs';

/** How often a device renews its presence (docs/protocol.md), as y-protocols' awareness does. */
const PRESENCE_RENEW_MS = 15_000;

/**
 * @typedef {{ spaceId: string, partnerId: string, token: string, identity: any, keyring: any,
 *   creator: Uint8Array }} SealedDevice what createSealedSpace / joinSealedSpace hand back
 */

/**
 * @param {{ wsBase: string }} target
 * @param {SealedDevice} device
 * @param {{ doc?: Y.Doc, connect?: boolean, batchOffline?: boolean, renewPresence?: boolean }} [options]
 *   batchOffline: changes made while the socket is closed are sealed as one envelope when it
 *   opens, instead of one envelope per change (what SealedProvider does today).
 *   renewPresence: false seals presence once per connect, never again (see capacity.mjs).
 */
export function createSealedClient(
  target,
  device,
  { doc = new Y.Doc(), connect = true, batchOffline = false, renewPresence = true } = {},
) {
  const counter = { bytesIn: 0, messagesIn: 0, bytesOut: 0, messagesOut: 0 };
  /**
   * Where a device's time goes: sealing its updates, and taking in the partner's (verify,
   * chain, decrypt, the model's check, apply; snapshots also on their own). Wall time around
   * synchronous calls, and the process's CPU time over them (which other work on a shared
   * machine inflates less; it includes the garbage collector's helper threads).
   */
  const work = {
    sealMs: 0,
    seals: 0,
    takeMs: 0,
    takes: 0,
    snapshotTakeMs: 0,
    takeCpuMs: 0,
    snapshotTakeCpuMs: 0,
  };
  const replica = new SealedReplica({
    doc,
    keyring: device.keyring,
    creator: device.creator,
  });
  const writer = new StreamWriter(doc.clientID);
  /** counter → envelope, sealed and not yet acknowledged (resent on every connect). */
  const outbox = new Map();
  /** seq → { bytes, own }: served out of order, waiting for the seq before them. */
  const pending = new Map();
  let unsealed = [];
  let socket = null;
  let open = false;
  let backlogDone = false;
  let presenceCounter = 0;
  let presenceTimer = null;
  let destroyed = false;
  /** How the socket last closed, when it closed before being asked to. */
  let closed = null;
  /** The last envelope taken in, for a snapshot that covers up to it. */
  let last = { seq: 0, bytes: null };
  const waiters = new Set();
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  /** Resolves once `done()` holds; rejects if the server closes the socket first (`strict`). */
  const waitFor = (done, strict = false) =>
    new Promise((resolve, reject) => {
      const waiter = () => {
        if (done()) {
          waiters.delete(waiter);
          resolve();
        } else if (strict && closed) {
          waiters.delete(waiter);
          reject(new Error(`the sealed socket closed: ${closed.code} ${closed.reason}`));
        }
      };
      waiters.add(waiter);
      waiter();
    });

  const send = (message) => {
    // A change signed after the device was destroyed or disconnected is not sent.
    if (!open || !socket) return;
    const bytes = encodeDeviceMessage(message);
    counter.bytesOut += bytes.byteLength;
    counter.messagesOut += 1;
    socket.send(bytes);
  };

  // As SealedProvider: a change is signed by the platform where it can (`sealNext`), and sent
  // once signed; statements are sealed and sent at once. `sealMs` is the time on this thread.
  /** Changes waiting for the platform's signature. */
  const signing = new Signing();
  const seal = (kind, payload) => {
    const started = performance.now();
    const sent = (sealed) => {
      outbox.set(sealed.header.counter, sealed.bytes);
      send({ type: SealedMessage.submit, envelope: sealed.bytes });
    };
    const { identity, keyring } = device;
    if (kind === EnvelopeKind.update) {
      signing.sealNext(writer, { identity, keyring, kind, payload }, (sealed) => {
        sent(sealed);
        notify();
      });
    } else {
      const sealed = sealEnvelope({ identity, keyring, kind, ...writer.next(), payload });
      writer.advance(sealed);
      sent(sealed);
    }
    work.sealMs += performance.now() - started;
    work.seals += 1;
  };

  const onUpdate = (update, origin) => {
    if (origin === REMOTE) return;
    if (batchOffline && !open) unsealed.push(update);
    else seal(EnvelopeKind.update, update);
  };
  doc.on('update', onUpdate);

  // Signed as SealedProvider's PresenceChannel signs it (`sealSoon`), sent once signed.
  const sendPresence = () => {
    const input = {
      identity: device.identity,
      keyring: device.keyring,
      kind: EnvelopeKind.presence,
      stream: doc.clientID,
      counter: ++presenceCounter,
      payload: new TextEncoder().encode('{}'),
    };
    sealSoon(input, (sealed) => send({ type: SealedMessage.presence, envelope: sealed.bytes }));
  };

  const setAside = [];
  /** Anything else a device would show as tampering. */
  const problems = [];
  const take = (seq, entry) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const receipt = entry.own
      ? replica.receiveOwn(seq, entry.bytes)
      : replica.receive(seq, entry.bytes);
    if (!entry.own) {
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      work.takeMs += ms;
      work.takeCpuMs += cpuMs;
      work.takes += 1;
      if (receipt.kind === 'snapshot') {
        work.snapshotTakeMs += ms;
        work.snapshotTakeCpuMs += cpuMs;
      }
    }
    if (receipt.kind === 'set-aside') setAside.push(receipt.entry);
    last = { seq, bytes: entry.bytes };
  };

  // Taken in strictly by seq, as SealedProvider does: own envelopes come back as acks and may
  // overtake what the server relays.
  const drain = () => {
    for (;;) {
      const since = replica.since;
      let seq = since + 1;
      let entry = pending.get(seq);
      if (!entry) {
        // A snapshot sits at the seq it covers and may jump ahead of `since`.
        const first = Math.min(...pending.keys());
        const ahead = pending.get(first);
        if (!ahead || ahead.bytes[1] !== EnvelopeKind.snapshot) break;
        seq = first;
        entry = ahead;
      }
      pending.delete(seq);
      take(seq, entry);
      if (replica.since === since) break;
    }
    for (const seq of pending.keys()) if (seq <= replica.since) pending.delete(seq);
  };

  const queue = (seq, bytes, own) => {
    if (seq <= replica.since) return;
    if (!pending.has(seq) || own) pending.set(seq, { bytes, own });
  };

  const announceSelf = () => {
    if (replica.partnerOf(device.identity.signing.publicKey) !== null) return;
    if ([...outbox.values()].some((bytes) => bytes[1] === EnvelopeKind.member)) return;
    seal(
      EnvelopeKind.member,
      encodeMemberPayload({
        partnerId: device.partnerId,
        agreementKey: device.identity.agreement.publicKey,
      }),
    );
  };

  let snapshotResult = null;
  const handle = (message) => {
    switch (message.type) {
      case SealedMessage.backlog: {
        const back = replica.checkServerHead(message.head);
        if (back) problems.push(back);
        for (const { seq, envelope } of message.entries) queue(seq, envelope, false);
        drain();
        if (message.last) {
          backlogDone = true;
          announceSelf();
        }
        return;
      }
      case SealedMessage.envelope:
        queue(message.seq, message.envelope, false);
        return drain();
      case SealedMessage.ack: {
        const bytes = message.stream === writer.stream ? outbox.get(message.counter) : undefined;
        outbox.delete(message.counter);
        if (bytes && message.seq > 0) queue(message.seq, bytes, true);
        return drain();
      }
      case SealedMessage.presenceRelay:
        // What a device does with a partner's presence before showing it: verify and decrypt.
        try {
          openEnvelope(message.envelope, device.keyring);
        } catch (error) {
          problems.push(`presence: ${error.message}`);
        }
        return;
      case SealedMessage.left:
        return;
      case SealedMessage.snapshotResult:
        snapshotResult = message;
        return;
    }
  };

  // As SealedProvider#take: the envelopes a message carries are verified ahead with the
  // platform's Ed25519 (many at once), and messages are handled in the order they came.
  let waiting = null;
  const intake = (ws, message) => {
    const envelopes =
      message.type === SealedMessage.backlog
        ? message.entries.map((entry) => entry.envelope)
        : message.type === SealedMessage.envelope || message.type === SealedMessage.presenceRelay
          ? [message.envelope]
          : [];
    const handleNow = () => {
      if (socket !== ws || destroyed) return;
      handle(message);
      notify();
    };
    if (envelopes.length === 0 && waiting === null) return handleNow();
    const ahead = Promise.all(envelopes.map((bytes) => verifyEnvelopeAhead(bytes, device.spaceId)));
    const turn = Promise.all([waiting, ahead]).then(() => {
      if (waiting === turn) waiting = null;
      handleNow();
    });
    waiting = turn;
  };

  const connectSocket = () => {
    if (socket || destroyed) return;
    const ws = new WebSocket(`${target.wsBase}/${device.spaceId}`, [SEALED_SUBPROTOCOL], {
      headers: { Authorization: `Bearer ${device.token}` },
    });
    socket = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      open = true;
      backlogDone = false;
      send({ type: SealedMessage.hello, since: replica.since, stream: doc.clientID });
      if (unsealed.length > 0) {
        const merged = Y.mergeUpdates(unsealed);
        unsealed = [];
        seal(EnvelopeKind.update, merged);
      }
      for (const envelope of outbox.values()) send({ type: SealedMessage.submit, envelope });
      sendPresence();
      if (renewPresence) {
        presenceTimer = setInterval(sendPresence, PRESENCE_RENEW_MS);
        presenceTimer.unref();
      }
      notify();
    });
    ws.on('message', (data) => {
      counter.bytesIn += data.byteLength;
      counter.messagesIn += 1;
      intake(
        ws,
        decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
      );
    });
    ws.on('error', () => {});
    ws.on('close', (code, reason) => {
      if (socket === ws) socket = null;
      open = false;
      clearInterval(presenceTimer);
      if (!leaving) closed = { code, reason: String(reason) };
      leaving = false;
      notify();
    });
  };
  let leaving = false;

  const synced = () => open && backlogDone && pending.size === 0;
  if (connect) connectSocket();
  return {
    doc,
    replica,
    counter,
    work,
    setAside,
    problems,
    /** Synced: the backlog is in and nothing waits for an earlier seq. */
    ready: () => waitFor(synced, true),
    /** Synced, and every envelope this device sealed is acknowledged. */
    settled: () =>
      waitFor(
        () => synced() && signing.size === 0 && outbox.size === 0 && unsealed.length === 0,
        true,
      ),
    connect: () => {
      closed = null;
      connectSocket();
    },
    disconnect: () => {
      if (!socket) return Promise.resolve();
      const ws = socket;
      const gone = waitFor(() => socket !== ws);
      leaving = true;
      ws.close(1000, 'bench');
      return gone;
    },
    destroy: () => {
      // Sent as SealedProvider's destroy sends them: signed by noble now, before the socket goes.
      signing.finishAll();
      destroyed = true;
      doc.off('update', onUpdate);
      clearInterval(presenceTimer);
      socket?.terminate();
      socket = null;
    },
    /** Seals `state` as a snapshot covering everything taken in so far, and waits for the answer. */
    async snapshot(state) {
      const coverage = replica.coverage();
      const sealed = sealEnvelope({
        identity: device.identity,
        keyring: device.keyring,
        kind: EnvelopeKind.snapshot,
        stream: doc.clientID,
        counter: 0,
        covers: { seq: last.seq, hash: sha256(last.bytes) },
        payload: encodeSnapshotPayload({ yjsState: state, ...coverage }),
      });
      snapshotResult = null;
      send({ type: SealedMessage.snapshot, envelope: sealed.bytes });
      await waitFor(() => snapshotResult !== null, true);
      if (!snapshotResult.stored) throw new Error(`snapshot refused: ${snapshotResult.reason}`);
      return sealed.bytes.byteLength;
    },
  };
}
