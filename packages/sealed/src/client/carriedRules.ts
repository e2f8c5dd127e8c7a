import { checkRemoteUpdate, checkUpdateShape } from '@mend/model';
import type { Envelope } from '@mend/protocol';
import * as Y from 'yjs';
import type { MemberPayload } from '../payloads.js';
import { refused, stranger, type Refusal } from './memberRules.js';

/**
 * Whether a carried envelope may be applied to the sequenced log (docs/protocol.md, "Converting a
 * plaintext space"). The genesis is the space's starting state, judged only for being readable;
 * any other must come from a member, use only client ids no stream of the log claimed (its own
 * stream aside), and pass the authorship rules for its author's partner with every client id it
 * uses. Null: apply it.
 */
export function judgeCarried(
  log: Y.Doc,
  envelope: Envelope,
  update: Uint8Array,
  context: {
    readonly author: string;
    readonly creator: string;
    readonly members: ReadonlyMap<string, MemberPayload>;
    readonly knowsStream: (stream: number) => boolean;
  },
): Refusal | null {
  const { author, members } = context;
  const known = (client: number) => Y.getState(log.store, client);
  if (isGenesis(log, envelope, context)) {
    const shape = checkUpdateShape(update, known);
    return shape.ok ? null : refused(`The space’s starting state cannot be read: ${shape.detail}.`);
  }
  const member = members.get(author);
  if (!member) {
    return stranger(
      'Changes carried over from before the space was sealed, from a device that is not a member.',
    );
  }
  const shape = checkUpdateShape(update, known);
  if (!shape.ok) return refused(shape.detail);
  const clientIds = new Set(shape.update.runs.keys());
  for (const client of clientIds) {
    if (client !== envelope.stream && context.knowsStream(client)) {
      return refused(
        `Changes carried over under client id ${client}, which a stream of the sealed space claimed.`,
      );
    }
  }
  const verdict = checkRemoteUpdate(log, update, { partnerId: member.partnerId, clientIds });
  return verdict.ok ? null : refused(verdict.detail);
}

/**
 * The genesis: the creator's carried envelope at counter 2 of its stream (its counter 1, the
 * creator's too, is its member statement when it converted honestly), taken in while the
 * sequenced log holds nothing yet. Derived from the log, so a restored replica judges it alike.
 */
function isGenesis(
  log: Y.Doc,
  envelope: Envelope,
  context: {
    readonly author: string;
    readonly creator: string;
    readonly members: ReadonlyMap<string, MemberPayload>;
  },
): boolean {
  return (
    context.author === context.creator &&
    context.members.has(context.author) &&
    envelope.counter === 2 &&
    log.store.clients.size === 0
  );
}
