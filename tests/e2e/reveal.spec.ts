import { expect } from '@playwright/test';
import {
  capture,
  createPair,
  expectAccessible,
  expectUpToDate,
  joinPlainSpace,
  makePlainSpace,
  openPartner,
  storedText,
  test,
} from './support.js';

const PROMPT = 'What did you feel when we talked on Sunday?';
const ALEX_ANSWER = 'Scared at first, then relieved that you stayed.';
const SAM_ANSWER = 'Tired, and hopeful for the first time in weeks.';
const LATER = 'I would like to come back to this on Sunday.';

test('answers revealed together: Alex answers at night and goes offline, Sam answers the next day without seeing it, and both see both once Alex is back', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const { a, b, spaceId } = await createPair(browser);
  const night = new Date();
  night.setHours(22, 40, 0, 0);
  const nextMorning = new Date(night.getTime() + 10.5 * 60 * 60 * 1000);
  for (const p of [a, b]) await p.page.clock.install({ time: night });
  await b.page.goto(`/s/${spaceId}`);
  await expectUpToDate(b.page);

  // Alex asks from Practices, in their own words.
  await a.page.goto(`/s/${spaceId}/practices`);
  await expectUpToDate(a.page);
  await a.page.getByRole('link', { name: 'Ask a question or reread' }).click();
  await expect(a.page.getByRole('heading', { name: 'Answer together' })).toBeVisible();
  await a.page.getByLabel('My own question').check();
  await a.page.getByLabel('Your question').fill(PROMPT);
  await capture(a, 'together-ask', async (page) => {
    await expect(page.getByLabel('Your question')).toHaveValue(PROMPT);
  });
  await a.page.getByRole('button', { name: 'Ask Sam' }).click();
  await expect(a.page.getByRole('heading', { name: PROMPT })).toBeVisible();
  await expect(a.page.getByText('Neither of you has answered yet.')).toBeVisible();
  await a.page.getByRole('textbox', { name: 'Your answer' }).fill(ALEX_ANSWER);
  await a.page.getByRole('button', { name: 'Send my answer' }).click();
  await expect(a.page.getByText(ALEX_ANSWER)).toBeVisible();
  await expect(a.page.getByText('You have answered. Sam has not answered yet.')).toBeVisible();
  await expect(a.page.getByRole('button', { name: 'Send my answer' })).toHaveCount(0);
  await expectUpToDate(a.page);
  await a.context.setOffline(true);
  await expect(a.page.getByRole('status').filter({ hasText: 'Offline' })).toBeVisible();

  // Sam, the next morning: Today says a question waits, and only that Alex answered.
  await b.page.clock.setSystemTime(nextMorning);
  await b.page.reload();
  await expectUpToDate(b.page);
  const waiting = b.page.getByRole('link', { name: `Alex asked: “${PROMPT}”` });
  await expect(waiting).toBeVisible();
  await capture(b, 'today-together-waiting', async (page) => {
    await expect(page.getByRole('link', { name: `Alex asked: “${PROMPT}”` })).toBeVisible();
  });
  await waiting.click();
  await expect(b.page.getByText('Alex has answered; your answer reveals both.')).toBeVisible();
  await capture(b, 'together-partner-answered', async (page) => {
    await expect(page.getByText('Alex has answered; your answer reveals both.')).toBeVisible();
  });
  // Alex's words are nowhere on Sam's device: not on the page, not in what it stores, though
  // the question (which is not hidden) is stored there, so the search does find what is there.
  expect(await b.page.content()).not.toContain(ALEX_ANSWER);
  const stored = await storedText(b.page);
  expect(stored).toContain(PROMPT);
  expect(stored).not.toContain(ALEX_ANSWER);

  await b.page.getByRole('textbox', { name: 'Your answer' }).fill(SAM_ANSWER);
  await b.page.getByRole('button', { name: 'Send my answer' }).click();
  await expect(
    b.page.getByText("You have both answered. Both answers appear once Alex's device is online."),
  ).toBeVisible();
  await expect(b.page.getByText(SAM_ANSWER)).toBeVisible();
  expect(await b.page.content()).not.toContain(ALEX_ANSWER);
  await expectUpToDate(b.page);

  // Alex comes back (later that morning): their device publishes its key, and both answers open.
  await a.page.clock.setSystemTime(new Date(nextMorning.getTime() + 60 * 60 * 1000));
  await a.context.setOffline(false);
  for (const { page, own, other, otherName } of [
    { page: a.page, own: ALEX_ANSWER, other: SAM_ANSWER, otherName: 'Sam' },
    { page: b.page, own: SAM_ANSWER, other: ALEX_ANSWER, otherName: 'Alex' },
  ]) {
    const both = page.getByRole('region', { name: 'Both answers' });
    await expect(both.getByRole('article', { name: 'Your answer' })).toContainText(own);
    await expect(both.getByRole('article', { name: `${otherName}’s answer` })).toContainText(other);
    // Neither answer can be changed: nothing to type in or press beside them.
    await expect(both.getByRole('textbox')).toHaveCount(0);
    await expect(both.getByRole('button')).toHaveCount(0);
  }

  // Side by side on a wide screen, who wrote which in each one's heading.
  await a.page.setViewportSize({ width: 1280, height: 800 });
  const mine = await a.page.getByRole('article', { name: 'Your answer' }).boundingBox();
  const theirs = await a.page.getByRole('article', { name: 'Sam’s answer' }).boundingBox();
  expect(mine && theirs && Math.abs(mine.y - theirs.y)).toBe(0);
  expect(mine && theirs && theirs.x > mine.x).toBe(true);

  // A later thought goes below, and reaches the partner.
  await b.page.getByLabel('Add a later thought').fill(LATER);
  await b.page.getByRole('button', { name: 'Add', exact: true }).click();
  const later = a.page.getByRole('region', { name: 'Later thoughts' });
  await expect(later.getByText(LATER)).toBeVisible();
  await expect(later).toContainText('Sam ·');
  await capture(a, 'together-revealed', async (page) => {
    await expect(page.getByText(LATER)).toBeVisible();
    await page.evaluate(() => window.scrollTo(0, 0));
  });

  // Both list it, newest first, as answered; Today has nothing waiting any more.
  await a.page.getByRole('link', { name: '← Answer together' }).click();
  await expect(a.page.getByRole('link', { name: PROMPT })).toBeVisible();
  await expect(a.page.getByText('Both answers are here.')).toBeVisible();
  await b.page.goto(`/s/${spaceId}`);
  await expectUpToDate(b.page);
  await expect(b.page.getByRole('heading', { name: 'Daily share' })).toBeVisible();
  await expect(b.page.getByRole('link', { name: /asked: “/ })).toHaveCount(0);

  // Progress counts the question answered together in the week both answers came out.
  await b.page.goto(`/s/${spaceId}/progress`);
  const together = b.page.getByRole('table', { name: /Questions answered together/ });
  await expect(together.getByRole('row').nth(1).getByRole('cell').first()).toHaveText('1');
});

test('in a space made before end-to-end encryption, answering together says calmly why it is not there yet', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Alex');
  const b = await openPartner(browser, 'Sam');
  const made = await makePlainSpace(a.page, 'Alex', 'Our old space');
  const spaceId = made.spaceId;
  // Sam joined the way the join page did before and has not opened Mend since: the space stays
  // as it was until his device offers its keys (docs/protocol.md, "Converting a plaintext space").
  await joinPlainSpace(b.page, spaceId, made.inviteCode, 'Sam');
  await a.page.goto(`/s/${spaceId}/practices`);
  await expect(a.page.getByText(/It will be once Sam opens Mend/)).toBeVisible();
  await expect(a.page.getByRole('link', { name: 'Ask a question or reread' })).toHaveCount(0);
  await a.page.goto(`/s/${spaceId}/together`);
  await expect(
    a.page.getByText(/Answering together needs this space to be end-to-end encrypted/),
  ).toBeVisible();
  await expect(a.page.getByText(/It will be once Sam opens Mend/)).toBeVisible();
  await expect(a.page.getByRole('main').getByRole('button')).toHaveCount(0);
  await expectAccessible(a.page, 'answer together in a plaintext space');
});
