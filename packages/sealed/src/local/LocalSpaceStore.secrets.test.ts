import { IDBFactory as FakeIDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { LocalSpaceStore } from './LocalSpaceStore.js';
import { LocalStoreError, LocalStoreErrorReason } from './LocalStoreError.js';
import { databaseName, MetaKey, StoreName } from './schema.js';
import { rawContents, rawPut, SPACE } from './testing/fixtures.js';

const NAME = databaseName(SPACE);

/** Whether `needle` occurs in any byte array or string found anywhere inside `value`. */
function contains(value: unknown, needle: Uint8Array): boolean {
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    const haystack = new Uint8Array(value instanceof ArrayBuffer ? value : value.buffer);
    outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
      for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
      return true;
    }
    return false;
  }
  if (typeof value === 'string') {
    return (
      value.includes(Buffer.from(needle).toString('hex')) ||
      value.includes(Buffer.from(needle).toString('base64'))
    );
  }
  if (Array.isArray(value)) return value.some((item) => contains(item, needle));
  if (typeof value === 'object' && value !== null) {
    return Object.values(value).some((item) => contains(item, needle));
  }
  return false;
}

/** A signing key as the platform holds it: non-extractable. */
async function signingKey(): Promise<CryptoKey> {
  const pair = (await crypto.subtle.generateKey('Ed25519', false, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  return pair.privateKey;
}

describe('LocalSpaceStore secrets at rest', () => {
  it('gives back the secrets it was given, after a reload', async () => {
    const factory = new FakeIDBFactory();
    const secrets = crypto.getRandomValues(new Uint8Array(96));
    const store = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    await store.saveSecrets(secrets);
    store.close();
    const reloaded = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    expect((await reloaded.load()).secrets).toEqual(secrets);
  });

  it('replaces the stored secrets when saved again', async () => {
    const store = await LocalSpaceStore.open(SPACE, { indexedDB: new FakeIDBFactory() });
    await store.saveSecrets(new Uint8Array(32).fill(1));
    await store.saveSecrets(new Uint8Array(32).fill(2));
    expect((await store.load()).secrets).toEqual(new Uint8Array(32).fill(2));
  });

  it('never writes the secret bytes into the database, and keeps its key unexportable', async () => {
    const factory = new FakeIDBFactory();
    const secrets = crypto.getRandomValues(new Uint8Array(64));
    const store = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    await store.saveSecrets(secrets);

    const everything = await rawContents(factory, NAME);
    // The scan itself works: it finds bytes that are there.
    const sealed = everything.find((value) => value instanceof Uint8Array);
    expect(sealed).toBeInstanceOf(Uint8Array);
    expect(contains(everything, (sealed as Uint8Array).subarray(0, 16))).toBe(true);
    // Any 16 consecutive bytes of the secret would be a leak.
    for (let at = 0; at + 16 <= secrets.length; at += 8) {
      expect(contains(everything, secrets.subarray(at, at + 16))).toBe(false);
    }

    const keys = everything.filter((value) => value instanceof CryptoKey);
    expect(keys).toHaveLength(1);
    const key = keys[0] as CryptoKey;
    expect(key.extractable).toBe(false);
    // Played as an attacker with the page's powers: the stored key will not come out.
    await expect(crypto.subtle.exportKey('raw', key)).rejects.toThrow();
  });

  it('makes one key per database even when two tabs save secrets at once', async () => {
    const factory = new FakeIDBFactory();
    const tabA = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    const tabB = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    await Promise.all([
      tabA.saveSecrets(new Uint8Array(32).fill(0xa)),
      tabB.saveSecrets(new Uint8Array(32).fill(0xb)),
    ]);
    const keys = (await rawContents(factory, NAME)).filter((value) => value instanceof CryptoKey);
    expect(keys).toHaveLength(1);
    // Whichever tab wrote last, both tabs read what it wrote.
    const [a, b] = [(await tabA.load()).secrets, (await tabB.load()).secrets];
    expect(a).toEqual(b);
    expect([0xa, 0xb]).toContain(a?.[0]);
  });

  it('keeps the platform’s signing key with the secrets made without its bytes, both or neither', async () => {
    const factory = new FakeIDBFactory();
    const store = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    await store.saveSecrets(new Uint8Array(32).fill(1));
    const key = await signingKey();
    const kept = await store.keepSigningKey(key, (current) => {
      expect(current).toEqual(new Uint8Array(32).fill(1));
      return new Uint8Array(32).fill(2);
    });
    expect(kept).toEqual({ secrets: new Uint8Array(32).fill(2), signingKey: key });
    const loaded = await store.load();
    expect(loaded.secrets).toEqual(new Uint8Array(32).fill(2));
    expect(loaded.signingKey?.extractable).toBe(false);
    expect(loaded.signingKey?.algorithm.name).toBe('Ed25519');

    // Another tab did the same first: nothing is written, and the first key stays.
    const again = await store.keepSigningKey(await signingKey(), () => new Uint8Array(32).fill(3));
    expect(again.secrets).toEqual(new Uint8Array(32).fill(2));
    expect((await store.load()).secrets).toEqual(new Uint8Array(32).fill(2));
    const keys = (await rawContents(factory, NAME)).filter((value) => value instanceof CryptoKey);
    expect(keys).toHaveLength(2); // the at-rest key and the signing key
  });

  it('rejects with corrupt when the stored signing key is not a key no script can export', async () => {
    const factory = new FakeIDBFactory();
    const store = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    const exportable = await crypto.subtle.generateKey('Ed25519', true, ['sign', 'verify']);
    for (const value of [exportable.privateKey, new Uint8Array(32)]) {
      await rawPut(factory, NAME, StoreName.meta, value, MetaKey.signingKey);
      const error = await store.load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LocalStoreError);
      expect((error as LocalStoreError).reason).toBe(LocalStoreErrorReason.corrupt);
    }
  });

  it('rejects with corrupt when the sealed secrets were changed on disk', async () => {
    const factory = new FakeIDBFactory();
    const store = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    await store.saveSecrets(new Uint8Array(32).fill(3));
    await rawPut(factory, NAME, StoreName.meta, new Uint8Array(60).fill(9), MetaKey.secrets);
    const error = await store.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalStoreError);
    expect((error as LocalStoreError).reason).toBe(LocalStoreErrorReason.corrupt);
  });

  it('rejects with corrupt when sealed secrets are stored without their key', async () => {
    const factory = new FakeIDBFactory();
    const store = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    await rawPut(factory, NAME, StoreName.meta, new Uint8Array(60).fill(9), MetaKey.secrets);
    const error = await store.load().catch((e: unknown) => e);
    expect((error as LocalStoreError).reason).toBe(LocalStoreErrorReason.corrupt);
  });
});
