import * as encoding from 'lib0/encoding';

/**
 * One client's state as a y-protocols awareness update (varUint count, client id, clock, JSON),
 * so a verified presence envelope can be handed to the stock `Awareness`. The clock is the
 * envelope's counter: it only grows, so an older state never overwrites a newer one.
 */
export function encodePresenceUpdate(clientId: number, clock: number, json: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1);
  encoding.writeVarUint(e, clientId);
  encoding.writeVarUint(e, clock);
  encoding.writeVarString(e, json);
  return encoding.toUint8Array(e);
}
