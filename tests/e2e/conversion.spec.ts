import { expect } from '@playwright/test';
import {
  capture,
  expectUpToDate,
  join,
  joinPlainSpace,
  makePlainSpace,
  openPartner,
  proposeAgreement,
  serverBytes,
  test,
} from './support.js';

/**
 * A space made before sealed spaces (issue 12, "Existing spaces are converted, nothing lost"):
 * made and joined through the routes the app used then, written in plaintext, then sealed by the
 * app once both partners' devices have offered their keys (docs/protocol.md, "Converting a
 * plaintext space").
 */

const SEALED_NOW = 'Your space is end-to-end encrypted now';

test('a space made before is sealed once both have opened it: nothing lost, offline edits included, and the server keeps no word of it', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Wilhelmina');
  const b = await openPartner(browser, 'Ignatius');
  const made = await makePlainSpace(a.page, 'Wilhelmina', 'Marigold cottage');
  await joinPlainSpace(b.page, made.spaceId, made.inviteCode, 'Ignatius');

  // Wilhelmina opens it first: her device offers its keys and waits for Ignatius's.
  const path = await proposeAgreement(
    a.page,
    made.spaceId,
    'Lantern evenings',
    'We light the lantern and talk until nine.',
  );
  await expectUpToDate(a.page);
  await a.page.goto(`/s/${made.spaceId}/together`);
  await expect(a.page.getByText(/once Ignatius opens Mend/)).toBeVisible();
  expect(serverBytes().includes(Buffer.from('light the lantern', 'utf8'))).toBe(true);

  // Offline, she writes a boundary the server has not seen when the space is sealed. The next
  // page comes from the service worker, so it must be active first.
  await a.page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await a.context.setOffline(true);
  await a.page.goto(`/s/${made.spaceId}/boundaries`);
  await a.page.getByLabel('Add a boundary').fill('No phones after ten.');
  await a.page.getByRole('button', { name: 'Add boundary' }).click();
  await expect(a.page.getByText(/^· 1 change not sent yet$/)).toBeVisible();

  // Ignatius opens it (his browser's list forgot it: the cookie finds it again); his device sees
  // her keys, offers its own and seals the space.
  await b.page.evaluate(() => localStorage.removeItem('mend:spaces'));
  await b.page.goto(`/s/${made.spaceId}`);
  await expect(b.page.getByText(SEALED_NOW)).toBeVisible();
  await expectUpToDate(b.page);
  await b.page.goto(path);
  await expect(b.page.getByLabel('What we agree')).toHaveValue(
    'We light the lantern and talk until nine.',
  );

  // Back online, her device fetches its key, moves its copy over and sends what it kept.
  await a.context.setOffline(false);
  await expect(a.page.getByText(SEALED_NOW)).toBeVisible();
  await expectUpToDate(a.page);
  await b.page.goto(`/s/${made.spaceId}/boundaries`);
  await expect(b.page.getByText('No phones after ten.')).toHaveCount(1);

  // From now on it syncs sealed, both ways, and both can compare one safety code.
  const next = await proposeAgreement(b.page, made.spaceId, 'Sunday market', 'We go together.');
  await a.page.goto(next);
  await expect(a.page.getByLabel('What we agree')).toHaveValue('We go together.');
  await a.page.goto(`/s/${made.spaceId}/settings`);
  await b.page.goto(`/s/${made.spaceId}/settings`);
  const codeA = await a.page.getByTestId('safety-code').textContent();
  expect(codeA).toMatch(/^\d{5} \d{5}$/);
  expect(await b.page.getByTestId('safety-code').textContent()).toBe(codeA);

  // Reloaded, the space opens from the sealed copy (the plaintext one is gone).
  await a.page.reload();
  await expect(a.page.getByRole('heading', { name: 'The two of you' })).toBeVisible();
  expect(
    await a.page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name)),
  ).not.toContain(`mend-space-${made.spaceId}`);

  await a.page.goto(`/s/${made.spaceId}`);
  await capture(a, 'conversion-sealed-now', (page) =>
    expect(page.getByText(SEALED_NOW)).toBeVisible(),
  );
  // Read once, it goes.
  await a.page.getByRole('button', { name: 'Got it' }).click();
  await expect(a.page.getByText(SEALED_NOW)).toHaveCount(0);
  await a.page.reload();
  await expect(a.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
  await expect(a.page.getByText(SEALED_NOW)).toHaveCount(0);

  const stored = serverBytes();
  for (const text of [
    'Marigold cottage',
    'Wilhelmina',
    'Ignatius',
    'Lantern evenings',
    'light the lantern',
    'No phones after ten',
    'Sunday market',
  ]) {
    expect(stored.includes(Buffer.from(text, 'utf8')), `the server holds "${text}"`).toBe(false);
  }
});

test('a space made before whose partner has not joined is sealed at once, with a new invite link', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Alex');
  const b = await openPartner(browser, 'Sam');
  const made = await makePlainSpace(a.page, 'Alex', 'Our old space');
  await a.page.goto(`/s/${made.spaceId}`);
  await expect(a.page.getByText(SEALED_NOW)).toBeVisible();
  await a.page.goto(`/s/${made.spaceId}/invite`);
  const link = await a.page.getByLabel('Invite link').inputValue();
  expect(link).toContain('#s=');
  expect(link).not.toContain(made.inviteCode);

  // The old link no longer lets anyone in.
  const old = await b.page.request.post(`/api/spaces/${made.spaceId}/join`, {
    data: { inviteCode: made.inviteCode, displayName: 'Kim' },
  });
  expect(old.status()).toBe(403);
  await b.page.goto(`/join/${made.spaceId}#code=${made.inviteCode}&from=Alex`);
  await b.page.getByLabel('Your name').fill('Sam');
  await b.page.getByRole('button', { name: 'Join' }).click();
  await expect(b.page.getByText(/This invite link no longer works/)).toBeVisible();
  await expect(b.page.getByText(/send the link from their Invite page again/)).toBeVisible();

  await join(b, link);
  await expect(b.page.getByText('Our old space').first()).toBeVisible();
  const path = await proposeAgreement(b.page, made.spaceId, 'Old ways', 'Still in step.');
  await a.page.goto(path);
  await expect(a.page.getByLabel('What we agree')).toHaveValue('Still in step.');
});
