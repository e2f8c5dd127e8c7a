import { expect, type Page } from '@playwright/test';
import {
  createPair,
  createSpace,
  expectUpToDate,
  join,
  openPartner,
  proposeAgreement,
  serverBytes,
  test,
} from './support.js';

test('the server keeps a new space only as ciphertext: no name, no word of it', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Philippa');
  const b = await openPartner(browser, 'Bartholomew');
  const { spaceId, inviteLink } = await createSpace(a, { spaceName: 'Tangerine harbour' });
  await join(b, inviteLink);
  const body = 'We walk along the quayside every Thursday evening.';
  const path = await proposeAgreement(a.page, spaceId, 'Quayside walks', body);
  await b.page.goto(path);
  await expect(b.page.getByLabel('What we agree')).toHaveValue(body);
  await expectUpToDate(a.page);
  await expectUpToDate(b.page);
  await expect(b.page.getByText('Tangerine harbour').first()).toBeVisible();

  const stored = serverBytes();
  expect(stored.length).toBeGreaterThan(0);
  for (const text of [
    'Tangerine harbour',
    'Philippa',
    'Bartholomew',
    'Quayside walks',
    'quayside every Thursday',
  ]) {
    expect(stored.includes(Buffer.from(text, 'utf8')), `the server holds "${text}"`).toBe(false);
  }
});

test('both partners see the same safety code, and the invite link says it carries the key', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  // Once Sam is in, Sam's device moves the space to a new key the invite link never opened:
  // the box it left with the server for Alex's device is for the second key.
  await expect
    .poll(async () => {
      const answer = await a.context.request.get(`/sync/${spaceId}/epoch-boxes`);
      return ((await answer.json()) as { boxes: { epoch: number }[] }).boxes.map((x) => x.epoch);
    })
    .toEqual([2]);
  await a.page.goto(`/s/${spaceId}/settings`);
  await b.page.goto(`/s/${spaceId}/settings`);
  const codeA = await a.page.getByTestId('safety-code').textContent();
  const codeB = await b.page.getByTestId('safety-code').textContent();
  expect(codeA).toMatch(/^\d{5} \d{5}$/);
  expect(codeB).toBe(codeA);
  await expect(a.page.getByText(/check that Sam sees the same code/)).toBeVisible();
});

test('each device’s signing key is held by the browser alone: no script can export it, and it signs', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  await expectUpToDate(a.page);
  await expectUpToDate(b.page);
  for (const { page } of [a, b]) {
    expect((await stored(page, spaceId)).signingKey).toEqual({
      extractable: false,
      algorithm: 'Ed25519',
      usages: ['sign'],
      exported: 'InvalidAccessError',
    });
  }
  // Signed with it, after a reload too: the partner's device takes the change in.
  await b.page.reload();
  const path = await proposeAgreement(b.page, spaceId, 'Signed by the browser', 'Kept.');
  await a.page.goto(path);
  await expect(a.page.getByLabel('What we agree')).toHaveValue('Kept.');
});

test('a sealed space opens offline after a reload, and what was written offline reaches the partner once', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  await a.page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await a.page.reload();
  await expect
    .poll(() => a.page.evaluate(() => navigator.serviceWorker.controller !== null))
    .toBe(true);
  await expectUpToDate(a.page);

  await a.context.setOffline(true);
  await a.page.goto(`/s/${spaceId}/boundaries`);
  await a.page.getByLabel('Add a boundary').fill('No phones at the table.');
  await a.page.getByRole('button', { name: 'Add boundary' }).click();
  await expect(a.page.getByText(/^· 1 change not sent yet$/)).toBeVisible();
  // Held, not sealed: it goes out as one envelope with whatever else is written offline.
  await expect.poll(() => stored(a.page, spaceId)).toMatchObject({ held: 1 });
  await a.page.reload();
  await expect(a.page.getByText('No phones at the table.')).toBeVisible();
  await expect(a.page.getByText(/^· \d+ changes? not sent yet$/)).toBeVisible();

  await a.context.setOffline(false);
  await expectUpToDate(a.page);
  await expect.poll(() => stored(a.page, spaceId)).toMatchObject({ held: 0, outbox: 0 });
  await b.page.goto(`/s/${spaceId}/boundaries`);
  await expect(b.page.getByText('No phones at the table.')).toHaveCount(1);
});

test('a space this browser’s list forgot is found again on this device, sealed or made before', async ({
  browser,
}) => {
  const { a, spaceId } = await createPair(browser);
  await expectUpToDate(a.page);
  await a.page.evaluate(() => localStorage.removeItem('mend:spaces'));
  await a.page.goto('/');
  await expect(a.page.getByRole('heading', { name: 'Your space on this device' })).toHaveCount(0);
  await a.page.goto(`/s/${spaceId}`);
  await expect(a.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
  await expectUpToDate(a.page);
  await a.page.goto('/');
  await expect(a.page.getByRole('link', { name: 'Open Our repair' })).toBeVisible();

  // A stranger's browser has neither keys nor a cookie: nothing is found.
  const stranger = await openPartner(browser, 'Kim');
  await stranger.page.goto(`/s/${spaceId}`);
  await expect(
    stranger.page.getByRole('heading', { name: 'This device is not part of this space' }),
  ).toBeVisible();
});

/**
 * What the device keeps of the space, as a page's script finds it: how many changes it holds
 * unsealed and envelopes it has not had acknowledged, and its signing key (never its bytes).
 */
function stored(page: Page, spaceId: string) {
  return page.evaluate(async (name) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    try {
      const tx = db.transaction(['held', 'outbox', 'meta']);
      const read = <T>(request: IDBRequest<T>) =>
        new Promise<T>((resolve, reject) => {
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
      const held = await read(tx.objectStore('held').count());
      const outbox = await read(tx.objectStore('outbox').count());
      const key: unknown = await read(tx.objectStore('meta').get('signingKey'));
      if (!(key instanceof CryptoKey)) return { held, outbox, signingKey: null };
      const exported = await crypto.subtle.exportKey('pkcs8', key).then(
        () => 'exported',
        (error: unknown) => (error as DOMException).name,
      );
      const { extractable, usages } = key;
      return {
        held,
        outbox,
        signingKey: { extractable, algorithm: key.algorithm.name, usages, exported },
      };
    } finally {
      db.close();
    }
  }, `mend-sealed-${spaceId}`);
}
