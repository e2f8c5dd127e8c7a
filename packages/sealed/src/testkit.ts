import { concatBytes } from './bytes.js';
import { sha256, withRandomSource, type RandomSource } from './crypto.js';

/**
 * Deterministic randomness for known-answer and composition tests. Not exported by the package
 * and kept out of its build; lint forbids importing it (or `withRandomSource`) outside tests.
 */
export { withRandomSource };

/** Hands out exactly these byte strings, in order, and fails on any other request. */
export function fixedRandom(...chunks: Uint8Array[]): RandomSource {
  const queue = [...chunks];
  return (length) => {
    const next = queue.shift();
    if (!next || next.length !== length) {
      throw new Error(`the test asked for ${length} random bytes it did not provide`);
    }
    return next;
  };
}

/** An endless, reproducible stream: SHA-256(seed ‖ block number), block after block. */
export function seededRandom(seed: string): RandomSource {
  const prefix = new TextEncoder().encode(seed);
  let block = 0;
  return (length) => {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += 32) {
      const digest = sha256(
        concatBytes(prefix, Uint8Array.of(block >>> 24, block >>> 16, block >>> 8, block)),
      );
      block += 1;
      out.set(digest.subarray(0, Math.min(32, length - at)), at);
    }
    return out;
  };
}

export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/.test(clean)) throw new Error('not hex');
  return Uint8Array.from(clean.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
