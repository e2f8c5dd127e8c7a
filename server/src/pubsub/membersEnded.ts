import { CloseCode } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/**
 * Members of one space whose open sockets end on every process, and the code they close with:
 * 4401 when a device left its space (its token revoked), 4410 when a plaintext space was sealed
 * (its partners' plaintext sockets). Each member is named by its memberKey (http/syncAuth.ts),
 * the key under which WsTransport files the sockets a credential opened.
 *
 * The process that ends them closes its own sockets, then publishes this as BusKind.membersEnded
 * on the space's channel; every other process does the same with it (MendServer, and the rooms
 * that hear the channel: Room, SealedRoom).
 */
export interface MembersEnded {
  code: MembersEndedCode;
  members: readonly string[];
}

export type MembersEndedCode = typeof CloseCode.revoked | typeof CloseCode.sealedNow;

const endingCodes = new Set<number>([CloseCode.revoked, CloseCode.sealedNow]);

function isEndingCode(code: number): code is MembersEndedCode {
  return endingCodes.has(code);
}

/** `varUint code`, `varUint count`, then each member as `varString`. */
export function encodeMembersEnded(ended: MembersEnded): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, ended.code);
  encoding.writeVarUint(e, ended.members.length);
  for (const member of ended.members) encoding.writeVarString(e, member);
  return encoding.toUint8Array(e);
}

/** Decodes strictly: another code, an empty member or trailing bytes throw. */
export function decodeMembersEnded(payload: Uint8Array): MembersEnded {
  const d = decoding.createDecoder(payload);
  const code = decoding.readVarUint(d);
  if (!isEndingCode(code)) throw new Error(`a members-ended message with close code ${code}`);
  const count = decoding.readVarUint(d);
  const members: string[] = [];
  // Each member takes at least two bytes, so a count beyond that is garbage, not a long list.
  if (count > payload.length) throw new Error('a garbled members-ended message');
  for (let i = 0; i < count; i++) {
    const member = decoding.readVarString(d);
    if (member === '') throw new Error('a garbled members-ended message');
    members.push(member);
  }
  if (decoding.hasContent(d)) throw new Error('a garbled members-ended message');
  return { code, members };
}
