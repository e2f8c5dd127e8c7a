/**
 * Sealed spaces as a device sees them, for tests against the real server: create and join over
 * HTTP, open the sealed socket (`mend-sealed-1`), build envelopes, and read what the server
 * sends. The server checks envelope headers and never signatures, so envelopes here are made
 * with the real codec (`@mend/protocol`) and filler nonce, ciphertext and signature bytes: no
 * crypto is involved, and none is needed to test ordering and durability.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  ENVELOPE_VERSION,
  EnvelopeKind,
  SEALED_SUBPROTOCOL,
  SealedMessage,
  ZERO_HASH,
  decodeServerMessage,
  encodeDeviceMessage,
  encodeEnvelope,
  encodeEnvelopeHeader,
  encodeSignedPart,
  type EnvelopeHeader,
  type ServerMessage,
  type SpaceId,
} from '@mend/protocol';
import { postJson } from './api.js';
import { openRawSocket, type RawSocket } from './clients.js';
import type { MendServer } from './server.js';

type ServerAddress = Pick<MendServer, 'wsUrl' | 'url'>;

/** A device's key pair as far as the server sees it: two public keys (random bytes here). */
export interface SealedDeviceKeys {
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
}

export interface SealedMember {
  readonly spaceId: SpaceId;
  readonly partnerId: string;
  readonly token: string;
  readonly keys: SealedDeviceKeys;
}

export interface SealedCouple {
  readonly spaceId: SpaceId;
  readonly inviteCode: string;
  /** The welcome box the creating device left (filler bytes). */
  readonly welcome: Uint8Array;
  readonly a: SealedMember;
  readonly b: SealedMember;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

export function newDeviceKeys(): SealedDeviceKeys {
  return {
    signingKey: new Uint8Array(randomBytes(32)),
    agreementKey: new Uint8Array(randomBytes(32)),
  };
}

/**
 * Creates a sealed space as device A and joins it as device B (through `joinThrough` when given,
 * another node sharing the same storage), checking every answer.
 */
export async function createSealedCouple(
  server: Pick<MendServer, 'url'>,
  joinThrough: Pick<MendServer, 'url'> = server,
): Promise<SealedCouple> {
  const aKeys = newDeviceKeys();
  const inviteCode = b64(randomBytes(16));
  const welcome = new Uint8Array(randomBytes(100));
  const created = await postJson(server, '/api/sealed-spaces', {
    signingKey: b64(aKeys.signingKey),
    agreementKey: b64(aKeys.agreementKey),
    inviteCode,
    welcome: b64(welcome),
  });
  if (created.status !== 201) throw new Error(`create answered ${created.status}: ${created.text}`);
  const a = created.json as { spaceId: SpaceId; partnerId: string; token: string };
  const bKeys = newDeviceKeys();
  const joined = await postJson(joinThrough, `/api/sealed-spaces/${a.spaceId}/join`, {
    inviteCode,
    signingKey: b64(bKeys.signingKey),
    agreementKey: b64(bKeys.agreementKey),
  });
  if (joined.status !== 201) throw new Error(`join answered ${joined.status}: ${joined.text}`);
  const b = joined.json as {
    partnerId: string;
    token: string;
    welcome: string;
    creator: { signingKey: string; agreementKey: string };
  };
  if (b.welcome !== b64(welcome) || b.creator.signingKey !== b64(aKeys.signingKey)) {
    throw new Error('the join did not hand back the welcome box and the creator’s keys');
  }
  return {
    spaceId: a.spaceId,
    inviteCode,
    welcome,
    a: { spaceId: a.spaceId, partnerId: a.partnerId, token: a.token, keys: aKeys },
    b: { spaceId: a.spaceId, partnerId: b.partnerId, token: b.token, keys: bKeys },
  };
}

/** SHA-256 of an envelope: how chains and snapshots name it. */
export function envelopeHash(envelope: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(envelope).digest());
}

/** An envelope with the given header (epoch 1) and filler nonce, ciphertext and signature. */
export function fillerEnvelope(
  header: Omit<EnvelopeHeader, 'version' | 'epoch' | 'covers'> &
    Partial<Pick<EnvelopeHeader, 'covers'>>,
  ciphertextBytes = 64,
): Uint8Array {
  const headerBytes = encodeEnvelopeHeader({
    version: ENVELOPE_VERSION,
    epoch: 1,
    covers: null,
    ...header,
  });
  const signed = encodeSignedPart(headerBytes, randomBytes(24), randomBytes(ciphertextBytes));
  return encodeEnvelope(signed, new Uint8Array(randomBytes(64)));
}

/** A device's stream: a chain of update envelopes (kept, so the chain moves on and can be resent). */
export class SealedStream {
  readonly chain: Uint8Array[] = [];
  #presence = 0;

  constructor(
    readonly member: SealedMember,
    readonly stream: number = randomBytes(4).readUInt32LE(0),
  ) {}

  next(ciphertextBytes = 64): Uint8Array {
    const last = this.chain.at(-1);
    const envelope = fillerEnvelope(
      {
        kind: EnvelopeKind.update,
        spaceId: this.member.spaceId,
        author: this.member.keys.signingKey,
        stream: this.stream,
        counter: this.chain.length + 1,
        prev: last ? envelopeHash(last) : ZERO_HASH,
      },
      ciphertextBytes,
    );
    this.chain.push(envelope);
    return envelope;
  }

  presence(): Uint8Array {
    return fillerEnvelope({
      kind: EnvelopeKind.presence,
      spaceId: this.member.spaceId,
      author: this.member.keys.signingKey,
      stream: this.stream,
      counter: ++this.#presence,
      prev: ZERO_HASH,
    });
  }
}

/** A sealed socket of one device, speaking `mend-sealed-1`. */
export class SealedSocket {
  constructor(
    readonly raw: RawSocket,
    readonly stream: SealedStream,
  ) {}

  hello(since = 0): void {
    this.#send(
      encodeDeviceMessage({ type: SealedMessage.hello, since, stream: this.stream.stream }),
    );
  }

  submit(envelope: Uint8Array = this.stream.next()): Uint8Array {
    this.#send(encodeDeviceMessage({ type: SealedMessage.submit, envelope }));
    return envelope;
  }

  presence(envelope: Uint8Array = this.stream.presence()): Uint8Array {
    this.#send(encodeDeviceMessage({ type: SealedMessage.presence, envelope }));
    return envelope;
  }

  /** Everything the server sent so far, decoded. */
  get messages(): ServerMessage[] {
    return this.raw.messages.map(decodeServerMessage);
  }

  /** Waits for a server message matching `predicate` (already received ones count). */
  async waitFor(
    predicate: (message: ServerMessage) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<ServerMessage> {
    const found = await this.raw.nextMessage(
      (bytes) => predicate(decodeServerMessage(bytes)),
      what,
      timeoutMs,
    );
    return decodeServerMessage(found);
  }

  /** Waits until this socket was handed every seq up to `seq` (backlog, envelopes and acks). */
  async waitForSeq(seq: number, what = `seq ${seq}`): Promise<number[]> {
    await this.raw.nextMessage(() => seqsOf(this.messages).includes(seq), what);
    return seqsOf(this.messages);
  }

  close(): void {
    this.raw.close();
  }

  #send(message: Uint8Array): void {
    this.raw.send(message);
  }
}

/** Opens a sealed socket for `member`'s device on `stream` (a new stream unless given). */
export async function openSealedSocket(
  server: ServerAddress,
  member: SealedMember,
  stream: SealedStream = new SealedStream(member),
): Promise<SealedSocket> {
  const raw = await openRawSocket(server, member.spaceId, {
    token: member.token,
    protocols: [SEALED_SUBPROTOCOL],
  });
  return new SealedSocket(raw, stream);
}

/** The seqs a socket was handed, in order: backlog entries, envelopes and acks alike. */
export function seqsOf(messages: readonly ServerMessage[]): number[] {
  const seqs: number[] = [];
  for (const m of messages) {
    if (m.type === SealedMessage.backlog) seqs.push(...m.entries.map((e) => e.seq));
    else if (m.type === SealedMessage.envelope || m.type === SealedMessage.ack) seqs.push(m.seq);
  }
  return seqs;
}

/** The envelopes served in `messages` by seq, whether in a backlog or one by one. */
export function servedBySeq(messages: readonly ServerMessage[]): Map<number, Uint8Array> {
  const served = new Map<number, Uint8Array>();
  for (const m of messages) {
    if (m.type === SealedMessage.backlog) {
      for (const entry of m.entries) served.set(entry.seq, entry.envelope);
    } else if (m.type === SealedMessage.envelope) served.set(m.seq, m.envelope);
  }
  return served;
}

/** Only the messages of one type. */
export function ofType<T extends ServerMessage['type']>(
  messages: readonly ServerMessage[],
  type: T,
): Extract<ServerMessage, { type: T }>[] {
  return messages.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
}
