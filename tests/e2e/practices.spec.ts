import { expect } from '@playwright/test';
import { capture, createPair, expectUpToDate, test } from './support.js';

test('a daily share: one partner shares, the other reads it with no reply box and marks it heard', async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const { a, b, spaceId } = await createPair(browser);
  await b.page.goto(`/s/${spaceId}`);
  await expect(b.page.getByRole('link', { name: "Write today's share" })).toBeVisible();

  // The daily share lives under Practices, beside the other practices.
  await a.page
    .getByRole('navigation', { name: 'Sections' })
    .getByRole('link', { name: 'Practices' })
    .click();
  await expect(a.page.getByRole('heading', { name: 'Practices' })).toBeVisible();
  await a.page.getByRole('link', { name: "Write today's share" }).click();
  await expect(a.page.getByRole('heading', { name: /^Daily share/ })).toBeVisible();
  // Nothing chosen yet: a share needs a feeling, and says so kindly.
  await a.page.getByRole('button', { name: 'Share with Sam' }).click();
  await expect(a.page.getByRole('alert')).toContainText('Please choose a feeling');
  const feelings = a.page.getByRole('group', { name: 'Feelings' });
  await feelings.getByLabel('Tired').check();
  await feelings.getByLabel('Hopeful').check();
  await a.page.getByLabel(/^In your own words/).fill('Worn out, but lighter than last week.');
  await a.page.getByLabel(/^Affirmation/).fill('You made tea without being asked.');
  await a.page.getByLabel(/^Needs/).fill('An early night.');
  await a.page.getByLabel(/^Ownership/).fill('I was short with you at dinner.');
  await a.page.getByLabel(/^Struggles or slips/).fill('I nearly checked your phone.');
  await capture(a, 'share-form', async (page) => {
    await expect(page.getByLabel(/^Needs/)).toHaveValue('An early night.');
  });
  await a.page.getByRole('button', { name: 'Share with Sam' }).click();
  const mine = a.page.getByRole('region', { name: 'Your share today' });
  await expect(mine.getByText('I was short with you at dinner.')).toBeVisible();
  await expect(mine.getByText('Sam has not marked it heard yet.')).toBeVisible();

  // Sam's Today and navigation show it at once, without a reload.
  await expect(b.page.getByRole('link', { name: /Alex shared how they are/ })).toBeVisible();
  await expect(
    b.page.getByRole('link', { name: /^Practices \(\s*1 share to hear\)$/ }),
  ).toBeVisible();
  await capture(b, 'today-share-waiting', async (page) => {
    await expect(page.getByRole('link', { name: /Alex shared how they are/ })).toBeVisible();
  });
  await b.page.getByRole('link', { name: /Alex shared how they are/ }).click();
  const theirs = b.page.getByRole('region', { name: "Alex's share today" });
  await expect(theirs.getByText('Tired')).toBeVisible();
  await expect(theirs.getByText('You made tea without being asked.')).toBeVisible();
  await expect(theirs.getByText('I nearly checked your phone.')).toBeVisible();
  // Listening, not debating: no box to answer in, only "I heard you".
  await expect(theirs.getByRole('textbox')).toHaveCount(0);
  await expect(theirs.getByRole('button')).toHaveText(['I heard you']);
  await capture(b, 'share-partner', async (page) => {
    await expect(page.getByRole('button', { name: 'I heard you' })).toBeVisible();
  });
  await theirs.getByRole('button', { name: 'I heard you' }).click();
  await expect(theirs.getByText(/^✓ You heard Alex/)).toBeVisible();
  // The button is gone; the keyboard lands on the line that says so, not back at the page's top.
  await expect(theirs.getByText(/^✓ You heard Alex/)).toBeFocused();
  await expect(theirs.getByRole('button')).toHaveCount(0);
  await expect(b.page.getByRole('link', { name: /^Practices.*to hear/ })).toHaveCount(0);

  // Alex sees it heard, live; what was heard stays as it was said.
  await expect(mine.getByText(/^✓ Sam heard you/)).toBeVisible();
  await expect(mine.getByRole('button', { name: 'Change my share' })).toHaveCount(0);
  await capture(a, 'share-heard', async (page) => {
    await expect(page.getByText(/^✓ Sam heard you/)).toBeVisible();
  });

  await a.page.goto(`/s/${spaceId}`);
  await expect(a.page.getByText('You shared today, and Sam heard you.')).toBeVisible();
  await a.page.goto(`/s/${spaceId}/progress`);
  await a.page.getByRole('button', { name: 'Show the numbers as tables' }).click();
  await expect(a.page.getByRole('table', { name: /Daily shares per week/ })).toContainText(
    '1 shared, 1 heard',
  );
});

test('a time-out: the partner sees the break at once with its return time, and sees the caller come back', async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const { a, b, spaceId } = await createPair(browser);
  await b.page.goto(`/s/${spaceId}`);
  await expectUpToDate(b.page);

  await a.page.getByRole('link', { name: 'I need a break' }).click();
  await expect(a.page.getByRole('heading', { name: 'I need a break' })).toBeVisible();
  await a.page.getByLabel('30 minutes').check();
  await expect(a.page.getByText(/^You will be back at /)).toBeVisible();
  await capture(a, 'break-choose', async (page) => {
    await expect(page.getByRole('button', { name: 'Start my break' })).toBeVisible();
  });
  await a.page.getByRole('button', { name: 'Start my break' }).click();
  await expect(a.page.getByRole('heading', { name: 'You are taking a break' })).toBeVisible();
  const backAt = ((await a.page.getByText(/^Back at /).textContent()) ?? '').replace(
    'Back at ',
    '',
  );
  expect(backAt).not.toBe('');
  await expect(a.page.getByText(/^About (30|29) minutes left\. Come back at /)).toBeVisible();

  // Sam, still on Today, sees it at once, with the time Alex named.
  const banner = b.page.locator('[data-break="partner"]');
  await expect(banner).toContainText(`Alex is taking a break and will be back at ${backAt}.`);
  await capture(b, 'today-partner-break', async (page) => {
    await expect(page.locator('[data-break="partner"]')).toBeVisible();
  });
  // Sam cannot end Alex's break: the break page offers only a break of Sam's own.
  await b.page.getByRole('link', { name: 'About breaks' }).click();
  await expect(b.page.getByRole('heading', { name: 'Alex is taking a break' })).toBeVisible();
  await expect(b.page.getByRole('button', { name: "I'm back" })).toHaveCount(0);
  await capture(b, 'break-partner', async (page) => {
    await expect(page.getByRole('heading', { name: 'Alex is taking a break' })).toBeVisible();
  });
  await b.page.goto(`/s/${spaceId}`);

  // The caller's calming screen: a breathing pacer that stands still when motion is reduced.
  const circle = a.page.locator('.circle');
  // Svelte scopes the keyframes' name to the component.
  expect(await circle.evaluate((el) => getComputedStyle(el).animationName)).toMatch(/breathe$/);
  await a.page.emulateMedia({ reducedMotion: 'reduce' });
  expect(await circle.evaluate((el) => getComputedStyle(el).animationName)).toBe('none');
  await expect(a.page.getByText('Breathe in slowly for a count of four')).toBeVisible();
  await a.page.emulateMedia({ reducedMotion: 'no-preference' });
  await capture(a, 'break-calming', async (page) => {
    await expect(page.getByRole('button', { name: "I'm back" })).toBeVisible();
  });

  await a.page.getByRole('button', { name: "I'm back" }).click();
  await expect(a.page.getByText(/^Welcome back\./)).toBeVisible();
  await expect(banner).toHaveCount(0);

  // Offline, Sam learns of a new break on the next sync.
  await b.context.setOffline(true);
  await expect(b.page.getByRole('status').filter({ hasText: 'Offline' })).toBeVisible();
  await a.page.getByLabel('10 minutes').check();
  await a.page.getByRole('button', { name: 'Start my break' }).click();
  await expect(a.page.getByRole('heading', { name: 'You are taking a break' })).toBeVisible();
  await expect(banner).toHaveCount(0);
  await b.context.setOffline(false);
  await expect(banner).toContainText('Alex is taking a break and will be back at');

  await a.page.getByRole('button', { name: "I'm back" }).click();
  await a.page.goto(`/s/${spaceId}/progress`);
  await a.page.getByRole('button', { name: 'Show the numbers as tables' }).click();
  await expect(a.page.getByRole('table', { name: /Breaks per week/ })).toContainText(
    '2 taken, came back from 2',
  );
  await capture(a, 'progress-breaks', async (page) => {
    await expect(page.getByRole('img', { name: /how many breaks each of you took/ })).toBeVisible();
  });
});

test('a break past its time asks the caller calmly to come back or take more time, and the partner sees the new time', async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const { a, b, spaceId } = await createPair(browser);
  // Both partners' clocks can jump ahead together: the pages' timers and Date, from the next load.
  await b.page.clock.install();
  await b.page.goto(`/s/${spaceId}`);
  await expectUpToDate(b.page);
  await a.page.clock.install();
  await a.page.goto(`/s/${spaceId}/break`);
  await expectUpToDate(a.page);
  await a.page.getByLabel('10 minutes').check();
  await a.page.getByRole('button', { name: 'Start my break' }).click();
  // The start button is gone; the keyboard lands on the time they named.
  await expect(a.page.getByText(/^Back at /)).toBeFocused();
  // Before the named time there is nothing to decide: no "more time" yet.
  await expect(a.page.getByRole('button', { name: 'I need more time' })).toHaveCount(0);
  const banner = b.page.locator('[data-break="partner"]');
  await expect(banner).toContainText('Alex is taking a break and will be back at');

  await a.page.clock.fastForward('11:00');
  await b.page.clock.fastForward('11:00');
  await expect(
    a.page.getByText(/^It is past .+, the time you named\. Come back when/),
  ).toBeVisible();
  await expect(banner).toContainText(/Alex said they would be back at .+\. They will let you know/);

  // On every other screen, the same calm question, one tap away.
  await a.page
    .getByRole('navigation', { name: 'Sections' })
    .getByRole('link', { name: 'Today' })
    .click();
  await expect(a.page.locator('[data-break="mine"]')).toContainText(
    /^It is past .+, the time you named for your break\./,
  );
  await a.page.getByRole('link', { name: 'Say you are back, or take more time' }).click();
  await a.page.getByRole('button', { name: 'I need more time' }).click();
  await a.page.getByLabel('20 minutes').check();
  await capture(a, 'break-more-time', async (page) => {
    await expect(page.getByRole('button', { name: 'Take more time' })).toBeVisible();
    // A whole-page capture of a scrolled page would draw the sticky header mid-page.
    await page.evaluate(() => window.scrollTo(0, 0));
  });
  await a.page.getByRole('button', { name: 'Take more time' }).click();
  await expect(a.page.getByText(/^Back at /)).toBeFocused();
  await expect(a.page.getByText(/^About 20 minutes left\./)).toBeVisible();
  const backAt = ((await a.page.getByText(/^Back at /).textContent()) ?? '')
    .replace('Back at ', '')
    .trim();
  await expect(banner).toContainText(`Alex is taking a break and will be back at ${backAt}.`);

  await a.page.getByRole('button', { name: "I'm back" }).click();
  await expect(a.page.getByRole('status').filter({ hasText: /^Welcome back\./ })).toBeFocused();
  await expect(banner).toHaveCount(0);
  // The record shows what happened: a break, more time, then back.
  await a.page
    .getByRole('navigation', { name: 'Sections' })
    .getByRole('link', { name: 'Progress' })
    .click();
  await a.page.getByRole('button', { name: 'Show the numbers as tables' }).click();
  await expect(a.page.getByRole('table', { name: /Breaks per week/ })).toContainText(
    '2 taken, came back from 2',
  );
});

test('"When it is too much" is one tap from every screen, opens offline, and tells the partner nothing', async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const { a, b, spaceId } = await createPair(browser);
  for (const path of ['', '/share', '/break', '/agreements', '/progress', '/settings']) {
    await a.page.goto(`/s/${spaceId}${path}`);
    await expect(a.page.getByRole('link', { name: 'Too much?' })).toBeVisible();
  }
  await a.page.goto('/');
  await expect(a.page.getByRole('link', { name: 'Too much?' })).toBeVisible();

  // The service worker must hold the app before the network goes.
  await a.page.goto(`/s/${spaceId}`);
  await a.page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await a.page.reload();
  await expect
    .poll(() => a.page.evaluate(() => navigator.serviceWorker.controller !== null))
    .toBe(true);
  await expectUpToDate(a.page);

  await a.context.setOffline(true);
  await expect(a.page.getByRole('status').filter({ hasText: 'Offline' })).toBeVisible();
  await a.page.getByRole('link', { name: 'Too much?' }).click();
  await expect(a.page.getByRole('heading', { name: 'When it is too much' })).toBeVisible();
  await expect(
    a.page.getByText('If you are in danger, call your local emergency number.'),
  ).toBeVisible();
  // Nothing was written: no change waits to reach the partner.
  await expect(a.page.getByText(/not sent yet/)).toHaveCount(0);
  await a.page.reload();
  await expect(a.page.getByRole('heading', { name: 'When it is too much' })).toBeVisible();
  await a.page.goto('/too-much');
  await expect(a.page.getByRole('heading', { name: 'When it is too much' })).toBeVisible();
  await expect(a.page.locator('.circle')).toBeVisible();
  await a.context.setOffline(false);

  // Online too, Sam's screen stays as it was: nothing says Alex opened the page.
  await b.page.goto(`/s/${spaceId}`);
  await expectUpToDate(b.page);
  const before = await b.page.getByRole('main').innerText();
  await a.page.goto(`/s/${spaceId}/too-much`);
  await expectUpToDate(a.page);
  await expect(a.page.getByText(/not sent yet/)).toHaveCount(0);
  await capture(a, 'too-much', async (page) => {
    await expect(page.getByRole('heading', { name: 'When it is too much' })).toBeVisible();
  });
  expect(await b.page.getByRole('main').innerText()).toBe(before);
  await expect(b.page.getByRole('main').getByText(/too much/i)).toHaveCount(0);
});
