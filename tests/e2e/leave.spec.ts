import { expect, type Page } from '@playwright/test';
import { createPair, expectUpToDate, proposeAgreement, test, type Partner } from './support.js';

/** Everything of the browser profile a page can list: databases, storage, caches and cookies. */
interface Profile {
  databases: string[];
  localStorage: [string, string][];
  sessionStorage: [string, string][];
  /** Each cache's name and the URLs it holds. */
  caches: { name: string; urls: string[] }[];
  cookies: string[];
}

async function profileOf(partner: Partner, page: Page = partner.page): Promise<Profile> {
  const inPage = await page.evaluate(async () => {
    const entries = (storage: Storage): [string, string][] =>
      Array.from({ length: storage.length }, (_, i) => storage.key(i) ?? '').map((key) => [
        key,
        storage.getItem(key) ?? '',
      ]);
    const cacheList = await Promise.all(
      (await caches.keys()).map(async (name) => ({
        name,
        urls: (await (await caches.open(name)).keys()).map((request) => request.url),
      })),
    );
    return {
      databases: (await indexedDB.databases()).map((db) => db.name ?? ''),
      localStorage: entries(localStorage),
      sessionStorage: entries(sessionStorage),
      caches: cacheList,
    };
  });
  const cookies = (await partner.context.cookies()).map((c) => `${c.name}=${c.value}; ${c.path}`);
  return { ...inPage, cookies };
}

/** Every place in the profile that names the space. */
function tracesOf(profile: Profile, spaceId: string): string[] {
  const traces: string[] = [];
  for (const name of profile.databases)
    if (name.includes(spaceId)) traces.push(`IndexedDB ${name}`);
  for (const [area, entries] of [
    ['localStorage', profile.localStorage],
    ['sessionStorage', profile.sessionStorage],
  ] as const) {
    for (const [key, value] of entries) {
      if (key.includes(spaceId) || value.includes(spaceId)) traces.push(`${area} ${key}`);
    }
  }
  for (const cache of profile.caches) {
    if (cache.name.includes(spaceId)) traces.push(`cache ${cache.name}`);
    for (const url of cache.urls) if (url.includes(spaceId)) traces.push(`cache entry ${url}`);
  }
  for (const cookie of profile.cookies)
    if (cookie.includes(spaceId)) traces.push(`cookie ${cookie}`);
  return traces;
}

test('"Remove Mend from this device" leaves nothing of the space in the browser profile', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  // Sam leaves a half-written question behind (a draft in localStorage) before leaving.
  await b.page.goto(`/s/${spaceId}/questions`);
  await b.page.getByLabel(/^Ask Alex a question/).fill('Unsent words');
  await expect
    .poll(async () => (await profileOf(b)).localStorage.some(([key]) => key.includes(spaceId)))
    .toBe(true);

  const before = await profileOf(b);
  expect(tracesOf(before, spaceId)).toEqual(
    expect.arrayContaining([`IndexedDB mend-sealed-${spaceId}`]),
  );
  const cookie = (await b.context.cookies()).find((c) => c.name === `mend_${spaceId}`);
  expect(cookie?.path).toBe(`/sync/${spaceId}`);
  const oldToken = cookie?.value ?? '';
  expect(oldToken).not.toBe('');

  await b.page.goto(`/s/${spaceId}/settings`);
  await b.page.getByRole('button', { name: 'Remove Mend from this device…' }).click();
  await b.page.getByRole('button', { name: 'Yes, remove it from this device' }).click();
  await expect(b.page).toHaveURL(/\/$/);
  await expect(b.page.getByRole('button', { name: 'Create our space' })).toBeVisible();

  const after = await profileOf(b);
  expect(tracesOf(after, spaceId)).toEqual([]);
  // The cookie went with the server's answer (its Max-Age=0), not only out of the page's sight.
  expect(after.cookies.filter((c) => c.startsWith('mend_'))).toEqual([]);

  // Nothing brings it back: neither the keys nor the cookie are left to find it by.
  await b.page.goto(`/s/${spaceId}`);
  await expect(
    b.page.getByRole('heading', { name: 'This device is not part of this space' }),
  ).toBeVisible();
  expect(tracesOf(await profileOf(b), spaceId)).toEqual([]);

  // The server no longer accepts the old token.
  const answer = await b.context.request.get(`/sync/${spaceId}`, {
    headers: { Authorization: `Bearer ${oldToken}` },
  });
  expect(answer.status()).toBe(401);

  // Alex keeps the space and keeps syncing.
  await proposeAgreement(a.page, spaceId, 'Walks', 'We walk on Sundays.');
  await expectUpToDate(a.page);
  await a.page.reload();
  await expect(a.page.getByLabel('What we agree')).toHaveValue('We walk on Sundays.');
  await expectUpToDate(a.page);

  // Sam's device moved the space to a new key before it left, and Alex's devices see that it left.
  await a.page.goto(`/s/${spaceId}`);
  await expect(a.page.getByText('Sam removed Mend from a device')).toBeVisible();
  await a.page.goto(`/s/${spaceId}/devices`);
  await expect(a.page.getByText('Mend was removed from it')).toBeVisible();
  await expect(a.page.getByText('Left', { exact: true })).toBeVisible();
});

test('offline, the app says the server cannot be told and can clear only this browser', async ({
  browser,
}) => {
  const { b, spaceId } = await createPair(browser);
  await b.page.goto(`/s/${spaceId}/settings`);
  await b.context.setOffline(true);
  // A change written offline: clearing the browser now would lose it, and the screen says so.
  await b.page.getByLabel('Name of this space').fill('Our quiet space');
  await b.page.getByRole('button', { name: 'Save names' }).click();
  await expect(b.page.getByText('1 change not sent yet')).toBeVisible();
  const wouldLose =
    '1 change made here is not sent yet. If you clear this device now, it is lost. Once you are connected, removing Mend sends it first.';
  await b.page.getByRole('button', { name: 'Remove Mend from this device…' }).click();
  await expect(b.page.getByText(wouldLose)).toBeVisible(); // before she agrees
  await b.page.getByRole('button', { name: 'Yes, remove it from this device' }).click();
  await expect(b.page.getByText('Mend could not reach the server.')).toBeVisible();
  // Cleared offline, the device stays in the space's list: the screen says where to remove it.
  await expect(
    b.page.getByText(
      "this device stays listed in your space until it is removed on the Devices page of another device, yours or Alex's.",
    ),
  ).toBeVisible();
  await expect(b.page.getByText(wouldLose)).toBeVisible();
  await b.page.getByRole('button', { name: 'Clear only this device' }).click();
  await expect(b.page).toHaveURL(/\/$/);
  // Only the cookie is left, as the screen said: the page cannot remove an HttpOnly cookie.
  expect(tracesOf(await profileOf(b), spaceId)).toEqual([
    expect.stringMatching(new RegExp(`^cookie mend_${spaceId}=`)),
  ]);
  await b.context.setOffline(false);
  await b.page.goto(`/s/${spaceId}`);
  // A sealed space cannot be opened without its keys, whatever the cookie says.
  await expect(
    b.page.getByRole('heading', { name: 'This device is not part of this space' }),
  ).toBeVisible();
});
