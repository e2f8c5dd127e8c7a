// Bytes on the wire for one keystroke (one character typed into an agreement), worked out from
// the real encoders rather than counted on sockets, so no other traffic mixes in: y-websocket's
// sync message as the reference server sends it against the sealed socket's submit, ack and
// relayed envelope. WebSocket framing included (client frames are masked).
import * as model from '@mend/model';
import {
  EnvelopeKind,
  SealedMessage,
  encodeDeviceMessage,
  encodeServerMessage,
} from '@mend/protocol';
import { SpaceKeyring, newDeviceIdentity, newSpaceKey, sealEnvelope } from '@mend/sealed';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';

const MESSAGE_SYNC = 0;

/** RFC 6455 frame header: 2 bytes, 2 or 8 more for longer payloads, 4 for a client's mask. */
function frame(payload, fromClient) {
  const length = payload.byteLength;
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  return 2 + extended + (fromClient ? 4 : 0) + length;
}

function typedKeystroke() {
  const doc = new Y.Doc();
  model.initSpace(doc, { name: 'Our space', createdAt: Date.now() });
  const partner = model.randomId();
  model.addPartner(doc, {
    id: partner,
    displayName: 'Sam',
    joinedAt: Date.now(),
    color: '#3b6e8f',
  });
  const id = model.proposeAgreement(doc, {
    title: 'Pause when voices rise',
    body: 'We take a pause when voices rise and come back within one hour.',
    by: partner,
    at: Date.now(),
  });
  const body = model.agreementTexts(doc, id).body;
  let update = null;
  doc.on('update', (u) => (update = u));
  doc.transact(() => body.insert(20, 'k'));
  return update;
}

export function keystrokeBytes() {
  const update = typedKeystroke();

  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MESSAGE_SYNC);
  syncProtocol.writeUpdate(e, update);
  const ywsMessage = encoding.toUint8Array(e);

  const keyring = new SpaceKeyring(model.randomId());
  keyring.add(1, newSpaceKey());
  const stream = 3_000_000_000; // a Yjs client id: up to 32 bits, five bytes as a varUint
  const envelope = sealEnvelope({
    identity: newDeviceIdentity(),
    keyring,
    kind: EnvelopeKind.update,
    stream,
    counter: 1_000,
    prev: new Uint8Array(32),
    payload: update,
  }).bytes;
  const seq = 100_000; // a space a few years old
  const submit = encodeDeviceMessage({ type: SealedMessage.submit, envelope });
  const ack = encodeServerMessage({ type: SealedMessage.ack, stream, counter: 1_000, seq });
  const relayed = encodeServerMessage({ type: SealedMessage.envelope, seq, envelope });

  const row = (label, sent, back, toPartner) => ({
    label,
    payload: {
      sent: sent.byteLength,
      back: back?.byteLength ?? 0,
      toPartner: toPartner.byteLength,
    },
    wire: {
      sent: frame(sent, true),
      back: back ? frame(back, false) : 0,
      toPartner: frame(toPartner, false),
    },
  });
  return {
    yjsUpdateBytes: update.byteLength,
    envelopeBytes: envelope.byteLength,
    rows: [
      // The reference sends each update to every socket of the room, its sender's too.
      row('y-websocket reference: sync update (echoed)', ywsMessage, ywsMessage, ywsMessage),
      row('sealed: submit, ack, relayed envelope', submit, ack, relayed),
    ],
  };
}
