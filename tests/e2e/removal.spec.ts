import { expect } from '@playwright/test';
import {
  capture,
  createPair,
  expectUpToDate,
  linkDevice,
  openPartner,
  proposeAgreement,
  test,
  typeAtEnd,
} from './support.js';

/**
 * Issue 13, "Revoke": Alex's phone, Alex's laptop and Sam edit one space; the laptop is lost and
 * Alex removes it from the phone. The laptop stops at once, clears the space and says so; Sam is
 * told; the space goes on under a new key the laptop never held (that nothing written afterwards
 * opens with the laptop's keys is checked with those keys kept, in
 * tests/integration/remove-device-epochs.test.ts).
 */
test('three devices edit live and offline and converge; Alex removes the lost laptop, which clears the space at once, and Sam is told', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  const laptop = await openPartner(browser, 'Alex on the laptop');
  await linkDevice(a, laptop, spaceId);

  // Live: the laptop writes, the phone and Sam read; then Sam adds a line offline.
  const path = await proposeAgreement(
    laptop.page,
    spaceId,
    'Phone-free dinners',
    'From the laptop.',
  );
  await a.page.goto(path);
  await b.page.goto(path);
  await expect(a.page.getByLabel('What we agree')).toHaveValue('From the laptop.');
  await expect(b.page.getByLabel('What we agree')).toHaveValue('From the laptop.');
  await b.context.setOffline(true);
  await typeAtEnd(b.page, 'What we agree', ' Sam, offline.');
  await typeAtEnd(a.page, 'What we agree', ' Alex, on the phone.');
  await b.context.setOffline(false);
  for (const page of [a.page, b.page, laptop.page]) {
    if (page === laptop.page) await page.goto(path);
    await expect(page.getByLabel('What we agree')).toHaveValue(/Sam, offline\./);
    await expect(page.getByLabel('What we agree')).toHaveValue(/Alex, on the phone\./);
  }
  await laptop.page.goto(`/s/${spaceId}`);
  await expectUpToDate(laptop.page);

  // The phone removes the laptop.
  await a.page.goto(`/s/${spaceId}/devices`);
  const laptopItem = a.page
    .getByRole('region', { name: 'Your devices' })
    .getByRole('listitem')
    .filter({ hasText: 'added with a link from' });
  await laptopItem.getByRole('button', { name: /^Remove…/ }).click();
  await capture(a, 'devices-remove-confirm', (page) =>
    expect(page.getByRole('button', { name: 'Yes, remove it' })).toBeVisible(),
  );
  await a.page.getByRole('button', { name: 'Yes, remove it' }).click();
  await expect(a.page.getByText('Removed. The space has new keys.')).toBeVisible();

  // The laptop: its socket closes, it clears the space and says so.
  await expect(
    laptop.page.getByRole('heading', { name: 'This device was removed from your space' }),
  ).toBeVisible();
  const left = await laptop.page.evaluate(async (id) => {
    const databases = (await indexedDB.databases()).map((d) => d.name ?? '');
    const keys = Object.keys(localStorage).filter(
      (k) => localStorage.getItem(k)?.includes(id) || k.includes(id),
    );
    return { databases: databases.filter((n) => n.includes(id)), keys };
  }, spaceId);
  expect(left).toEqual({ databases: [], keys: [] });
  await capture(laptop, 'device-removed', (page) =>
    expect(
      page.getByRole('heading', { name: 'This device was removed from your space' }),
    ).toBeVisible(),
  );
  await laptop.page.goto(`/s/${spaceId}`);
  await expect(
    laptop.page.getByRole('heading', { name: 'This device is not part of this space' }),
  ).toBeVisible();

  // Sam is told, on Today and in the list; the space goes on under the new key.
  await b.page.goto(`/s/${spaceId}`);
  await expect(b.page.getByText(/^Alex removed a device/)).toBeVisible();
  await b.page.goto(`/s/${spaceId}/devices`);
  const alexs = b.page.getByRole('region', { name: "Alex's devices" });
  await expect(alexs.getByText('Removed', { exact: true })).toBeVisible();
  await capture(b, 'devices-removed-list', (page) =>
    expect(page.getByRole('region', { name: "Alex's devices" }).getByRole('listitem')).toHaveCount(
      2,
    ),
  );
  const after = await proposeAgreement(a.page, spaceId, 'After the laptop', 'Written after.');
  await b.page.goto(after);
  await expect(b.page.getByLabel('What we agree')).toHaveValue('Written after.');
});

test('a device removed while it was offline is told when it comes back, and clears the space', async ({
  browser,
}) => {
  const { a, spaceId } = await createPair(browser);
  const laptop = await openPartner(browser, 'Alex on the laptop');
  await linkDevice(a, laptop, spaceId);
  await laptop.context.setOffline(true);

  await a.page.goto(`/s/${spaceId}/devices`);
  await a.page
    .getByRole('region', { name: 'Your devices' })
    .getByRole('listitem')
    .filter({ hasText: 'added with a link from' })
    .getByRole('button', { name: /^Remove…/ })
    .click();
  await a.page.getByRole('button', { name: 'Yes, remove it' }).click();
  await expect(a.page.getByText('Removed. The space has new keys.')).toBeVisible();

  // Back online, its socket is refused; the server says it was removed, and it clears the space.
  await laptop.context.setOffline(false);
  await laptop.page.reload();
  await expect(
    laptop.page.getByRole('heading', { name: 'This device was removed from your space' }),
  ).toBeVisible();
  const left = await laptop.page.evaluate(
    async (id) => (await indexedDB.databases()).filter((d) => d.name?.includes(id)).length,
    spaceId,
  );
  expect(left).toBe(0);
});
