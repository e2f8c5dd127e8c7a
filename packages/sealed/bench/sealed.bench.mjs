// Seal/open and sign/verify speed of @mend/sealed in Node. Not a test: nothing is asserted.
// Run: npx -y pnpm@12.4.2 --filter @mend/sealed build && node packages/sealed/bench/sealed.bench.mjs
// Reports the median of many runs, so a busy machine skews it less than a mean would.
import { EnvelopeKind } from '@mend/protocol';
import {
  newDeviceIdentity,
  newSpaceKey,
  openEnvelope,
  sealEnvelope,
  SpaceKeyring,
} from '../dist/index.js';
import { newSigningKeys, sign, verify } from '../dist/crypto.js';

function measure(name, fn, { seconds = 1.5, minRuns = 7 } = {}) {
  for (let i = 0; i < 3; i++) fn(); // warm up
  const times = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < seconds * 1000) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const ms = times[times.length >> 1];
  const perSecond = (1000 / ms).toFixed(0);
  console.log(`${name.padEnd(44)} ${ms.toFixed(3).padStart(9)} ms ${perSecond.padStart(7)} /s`);
}

const keyring = new SpaceKeyring('space_0123456789abcdef');
keyring.add(1, newSpaceKey());
const identity = newDeviceIdentity();

for (const [label, size] of [
  ['100 B', 100],
  ['2 MB', 2 * 1024 * 1024],
]) {
  const payload = new Uint8Array(size).fill(7);
  const seal = () =>
    sealEnvelope({ identity, keyring, kind: EnvelopeKind.update, stream: 1, counter: 1, payload });
  const { bytes } = seal();
  measure(`seal ${label}`, seal);
  measure(`open ${label} (verify, hash, decrypt)`, () => openEnvelope(bytes, keyring));
}

const keys = newSigningKeys();
const message = new Uint8Array(100).fill(1);
const signature = sign(keys.secretKey, message);
measure('Ed25519 sign (100 B)', () => sign(keys.secretKey, message));
measure('Ed25519 verify (100 B)', () => verify(keys.publicKey, message, signature));
// What signing the whole signed part (instead of its SHA-256) would cost: SHA-512 twice.
const big = new Uint8Array(2 * 1024 * 1024).fill(7);
measure('Ed25519 sign over 2 MB itself (not used)', () => sign(keys.secretKey, big));
console.log(`node ${process.version}, ${process.arch}`);
