import { checkUpdateShape, ShapeFault, type KnownClock } from '@mend/model';
import { CloseCode } from '@mend/protocol';
import { ProtocolViolation } from './ProtocolViolation.js';

export type { KnownClock };

/**
 * Checks an incoming Yjs update before it may touch a live document: the model's
 * `checkUpdateShape` (what it checks and why is written there), as the room needs it. Throws a
 * ProtocolViolation (4400; reason 'invalid-update' or 'missing-dependencies') on failure;
 * returns nothing on success.
 */
export function checkUpdate(update: Uint8Array, known: KnownClock): void {
  const shape = checkUpdateShape(update, known);
  if (shape.ok) return;
  switch (shape.fault) {
    case ShapeFault.invalid:
      throw new ProtocolViolation(CloseCode.badMessage, shape.fault, shape.detail);
    case ShapeFault.missing:
      throw new ProtocolViolation(
        CloseCode.badMessage,
        shape.fault,
        'update depends on changes the server does not have',
      );
    default: {
      const unreachable: never = shape.fault;
      throw new Error(`unknown shape fault ${String(unreachable)}`);
    }
  }
}
