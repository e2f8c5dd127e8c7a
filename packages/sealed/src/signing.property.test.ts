import { EnvelopeKind, ZERO_HASH, type SpaceId } from '@mend/protocol';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { equalBytes } from './bytes.js';
import { platformSigningKeys } from './crypto.js';
import { openEnvelope, Signing, type SealedEnvelope } from './envelopes.js';
import { newDeviceIdentity } from './identity.js';
import { newSpaceKey, SpaceKeyring } from './SpaceKeyring.js';
import { StreamWriter } from './StreamWriter.js';
import { slowPlatformSigning } from './client/testing/platform.js';

/**
 * A page whose signing key the platform holds alone takes changes back whenever it may go
 * (`Signing.takeBack`, LocalSealing.settle), while signatures land late and in between: every
 * change ends either sealed or taken back, never both and never twice, and each stream stays one
 * chain (counters one after another, each naming the one before it), whatever the order.
 */

const spaceId = 'space_0123456789abcdef' as SpaceId;
const ascii = (s: string) => new TextEncoder().encode(s);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

type Step =
  | { readonly kind: 'change' | 'statement'; readonly stream: number }
  | { readonly kind: 'takeBack'; readonly streams: readonly number[] }
  | { readonly kind: 'wait'; readonly ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('change' as const), stream: fc.constantFrom(1, 2) }),
  fc.record({ kind: fc.constant('statement' as const), stream: fc.constantFrom(1, 2) }),
  fc.record({
    kind: fc.constant('takeBack' as const),
    streams: fc.subarray([1, 2], { minLength: 1 }),
  }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 3 }) }),
);

afterEach(() => vi.restoreAllMocks());

describe('Signing.takeBack, any order', () => {
  it('ends every change sealed or taken back, once, and keeps each stream one chain', async () => {
    const keyring = new SpaceKeyring(spaceId);
    keyring.add(1, newSpaceKey());
    const made = newDeviceIdentity();
    const identity = { ...made, signing: (await platformSigningKeys(made.signing))! };
    // The platform's signatures take 0–3 ms each, so they land before, between and after steps.
    slowPlatformSigning(() => Math.floor(Math.random() * 4));

    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        const queue = new Signing();
        const chains = new Map([1, 2].map((stream) => [stream, new StreamWriter(stream)]));
        const out: SealedEnvelope[] = [];
        const back: string[] = [];
        const all: string[] = [];
        for (const [i, s] of steps.entries()) {
          if (s.kind === 'wait') {
            await new Promise((resolve) => setTimeout(resolve, s.ms));
          } else if (s.kind === 'takeBack') {
            for (const { change } of queue.takeBack((stream) => s.streams.includes(stream))) {
              back.push(text(change));
            }
          } else {
            const name = `${s.kind} ${i}`;
            all.push(name);
            const kind = s.kind === 'change' ? EnvelopeKind.update : EnvelopeKind.member;
            queue.sealNext(
              chains.get(s.stream)!,
              { identity, keyring, kind, payload: ascii(name) },
              (envelope) => out.push(envelope),
              s.kind === 'change' ? ascii(name) : undefined,
            );
          }
        }
        await new Promise<void>((resolve) => queue.after(resolve));
        // Late signatures of what was taken back have landed too, and added nothing.
        await new Promise((resolve) => setTimeout(resolve, 8));

        const outNames = out.map((e) => text(openEnvelope(e.bytes, keyring).payload));
        // Every change once: sealed or taken back. Statements are never taken back.
        expect([...outNames, ...back].sort()).toEqual([...all].sort());
        expect(back.every((name) => name.startsWith('change'))).toBe(true);
        // In the order asked, among what was sealed.
        expect(outNames).toEqual(all.filter((name) => outNames.includes(name)));
        // Each stream one chain from its start.
        for (const stream of [1, 2]) {
          const chain = out.filter((e) => e.header.stream === stream);
          let prev: Uint8Array = ZERO_HASH;
          chain.forEach((e, at) => {
            expect(e.header.counter).toBe(at + 1);
            expect(equalBytes(e.header.prev, prev)).toBe(true);
            prev = e.hash;
          });
          expect(chains.get(stream)!.next().counter).toBe(chain.length + 1);
        }
        expect(queue.size).toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});
