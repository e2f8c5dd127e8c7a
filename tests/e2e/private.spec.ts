import { expect, type Page } from '@playwright/test';
import { readFile } from 'node:fs/promises';
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

const OPEN_NOTE = 'Tired, and glad we talked at breakfast.';
const PRIVATE_NOTE = 'I looked at his phone again and I hate that I did.';
const SAM_NOTE = 'Scared about the weekend with my family.';
const SAFETY = 'How safe do you feel with your partner right now?';

/** Downloads the Markdown export of the page's space and returns its text. */
async function exported(page: Page): Promise<string> {
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download as Markdown' }).click();
  const path = await (await download).path();
  return readFile(path, 'utf8');
}

test('a check-in kept private: the partner sees only that it was made, nothing of it is on their device, and only its author’s Progress and export hold it', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const { a, b, spaceId } = await createPair(browser);

  // In the morning Alex shares a check-in; Sam reads it.
  await a.page.getByLabel(SAFETY).fill('6');
  await a.page.getByLabel(/On alert/).check();
  await a.page.getByLabel(/A note/).fill(OPEN_NOTE);
  await a.page.getByRole('button', { name: 'Save check-in' }).click();
  const alexCard = b.page.getByRole('region', { name: "Alex's latest check-in" });
  await expect(alexCard).toContainText(OPEN_NOTE);

  // Later Alex changes it, and keeps it to themselves.
  await a.page.getByRole('button', { name: 'Change my check-in' }).click();
  const form = a.page.getByRole('form', { name: 'Your check-in today' });
  await form.getByLabel(SAFETY).fill('2');
  await form.getByLabel(/Frozen or numb/).check();
  await form.getByLabel(/A note/).fill(PRIVATE_NOTE);
  await form.getByLabel(/Keep this to myself/).check();
  await expect(
    form.getByText('Sam sees only that you made a private check-in today.'),
  ).toBeVisible();
  await expect(form.getByLabel('A note (optional, only you will see it)')).toBeVisible();
  await expect(
    form.getByText(/What you shared earlier today may already have reached Sam/),
  ).toBeVisible();
  await capture(a, 'checkin-keep-private', async (page) => {
    await expect(page.getByLabel(/Keep this to myself/)).toBeChecked();
  });
  await form.getByRole('button', { name: 'Update check-in' }).click();
  const mine = a.page.getByRole('region', { name: 'Your check-in' });
  await expect(mine).toContainText('2/10');
  await expect(mine).toContainText('Frozen or numb');
  await expect(mine).toContainText(PRIVATE_NOTE);
  await expect(mine).toContainText('Only you can see this check-in.');
  await capture(a, 'today-private-checkin', async (page) => {
    await expect(page.getByRole('region', { name: 'Your check-in' })).toContainText(PRIVATE_NOTE);
    await page.evaluate(() => window.scrollTo(0, 0));
  });
  await expectUpToDate(a.page);

  // Sam, live: only that Alex made a private check-in today.
  await expect(alexCard).toContainText('Alex made a private check-in today.');
  await expect(alexCard).not.toContainText('2/10');
  await capture(b, 'today-partner-private-checkin', async (page) => {
    await expect(page.getByText('Alex made a private check-in today.')).toBeVisible();
  });
  await expectUpToDate(b.page);
  // Not on Sam's page, nor anywhere Sam's browser keeps the space, though the note Alex shared
  // in the morning is (what was shared stays shared), so the search finds what is there.
  expect(await b.page.content()).not.toContain(PRIVATE_NOTE);
  const samStored = await storedText(b.page);
  expect(samStored).toContain(OPEN_NOTE);
  expect(samStored).not.toContain(PRIVATE_NOTE);
  expect(samStored).not.toContain('Frozen');

  // Sam keeps only the note to themselves: Alex sees how Sam is, not the note.
  await b.page.getByLabel(SAFETY).fill('7');
  await b.page.getByLabel(/Calm/).check();
  await b.page.getByLabel(/A note/).fill(SAM_NOTE);
  await b.page.getByLabel(/Keep the note to myself/).check();
  await expect(
    b.page.getByText("Alex sees how safe you feel and your body's state, not the note."),
  ).toBeVisible();
  await b.page.getByRole('button', { name: 'Save check-in' }).click();
  await expect(b.page.getByRole('region', { name: 'Your check-in' })).toContainText(SAM_NOTE);
  await expect(b.page.getByRole('region', { name: 'Your check-in' })).toContainText(
    'Only you can read the note.',
  );
  const samCard = a.page.getByRole('region', { name: "Sam's latest check-in" });
  await expect(samCard).toContainText('7/10');
  await expect(samCard).toContainText('Sam kept the note to themselves.');
  await expectUpToDate(b.page);
  await expectUpToDate(a.page);
  expect(await a.page.content()).not.toContain(SAM_NOTE);
  expect(await storedText(a.page)).not.toContain(SAM_NOTE);

  // Alex's own devices read it after a reload, from what they keep of the space.
  await a.page.reload();
  await expect(a.page.getByRole('region', { name: 'Your check-in' })).toContainText(PRIVATE_NOTE);

  // Progress: Alex sees the values; Sam sees a gap and that Alex made a private check-in.
  await a.page.goto(`/s/${spaceId}/progress`);
  const alexTable = a.page.getByRole('table', { name: /Felt safety by day/ });
  await expect(alexTable).toContainText('2 (Frozen or numb), only you can see it');
  await expect(alexTable).toContainText('7 (Calm)');
  await b.page.goto(`/s/${spaceId}/progress`);
  await expect(
    b.page.getByText(/Alex made a private check-in on .*; it is a gap in the chart\./),
  ).toBeVisible();
  const samTable = b.page.getByRole('table', { name: /Felt safety by day/ });
  await expect(samTable).toContainText('Private check-in');
  await expect(samTable).toContainText('7 (Calm)');
  await capture(b, 'progress-partner-private-checkin', async (page) => {
    await page.getByRole('button', { name: 'Show the numbers as tables' }).click();
    await expect(page.getByRole('table', { name: /Felt safety by day/ })).toBeVisible();
    await page.getByRole('button', { name: 'Hide the tables' }).click();
  });
  expect(await b.page.content()).not.toContain(PRIVATE_NOTE);

  // The export: Alex's holds it, opened and said to be private; Sam's holds none of it.
  await a.page.goto(`/s/${spaceId}/export`);
  const preview = a.page.locator('article.printable');
  await expect(preview).toContainText(`Kept private. ${PRIVATE_NOTE}`);
  await expect(preview).toContainText('(note kept private)');
  await capture(a, 'export-private-checkin', async (page) => {
    await expect(page.locator('article.printable')).toContainText(PRIVATE_NOTE);
  });
  const alexExport = await exported(a.page);
  expect(alexExport).toContain(`| Alex | 2 | Frozen or numb | Kept private. ${PRIVATE_NOTE} |`);
  expect(alexExport).toContain('| Sam | 7 | Calm | (note kept private) |');
  expect(alexExport).not.toContain(SAM_NOTE);

  await b.page.goto(`/s/${spaceId}/export`);
  await expect(b.page.locator('article.printable')).toContainText(`Note kept private. ${SAM_NOTE}`);
  const samExport = await exported(b.page);
  expect(samExport).toContain(`| Sam | 7 | Calm | Note kept private. ${SAM_NOTE} |`);
  expect(samExport).not.toContain(PRIVATE_NOTE);
  expect(samExport).not.toMatch(/\| Alex \| 2 \|/);
  expect(await b.page.content()).not.toContain(PRIVATE_NOTE);
});

test('the export holds the questions answered together, and an answer not revealed yet only in its author’s', async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const { a, b, spaceId } = await createPair(browser);
  const ask = async (page: Page, prompt: string) => {
    await page.goto(`/s/${spaceId}/together`);
    await expectUpToDate(page);
    await page.getByLabel('My own question').check();
    await page.getByLabel('Your question').fill(prompt);
    await page.getByRole('button', { name: /^Ask / }).click();
    await expect(page.getByRole('heading', { name: prompt })).toBeVisible();
  };
  const answer = async (page: Page, text: string) => {
    await page.getByRole('textbox', { name: 'Your answer' }).fill(text);
    await page.getByRole('button', { name: 'Send my answer' }).click();
    await expect(page.getByText(text)).toBeVisible();
  };

  await ask(a.page, 'What helped this week?');
  await answer(a.page, 'You stayed at the table.');
  await b.page.goto(`/s/${spaceId}/together`);
  await b.page.getByRole('link', { name: 'What helped this week?' }).click();
  await answer(b.page, 'Your letter.');
  await expect(a.page.getByRole('region', { name: 'Both answers' })).toContainText('Your letter.');
  await ask(a.page, 'What is still hard?');
  await answer(a.page, 'Evenings when you are late.');
  await expectUpToDate(a.page);

  for (const { page, holds, lacks } of [
    { page: a.page, holds: ['Your letter.', 'Evenings when you are late.'], lacks: [] },
    { page: b.page, holds: ['You stayed at the table.'], lacks: ['Evenings when you are late.'] },
  ]) {
    await page.goto(`/s/${spaceId}/export`);
    await expectUpToDate(page);
    await expect(page.locator('article.printable')).toContainText('You stayed at the table.');
    const md = await exported(page);
    expect(md).toContain('## Questions answered together');
    expect(md).toContain('### What is still hard?');
    expect(md).toContain('Not revealed yet: Alex answered, Sam not yet.');
    for (const text of holds) expect(md).toContain(text);
    for (const text of lacks) {
      expect(md).not.toContain(text);
      expect(await page.content()).not.toContain(text);
    }
  }
  await expect(a.page.locator('article.printable')).toContainText(
    'not revealed yet; only Alex can read it',
  );
  await expectAccessible(a.page, 'export with questions answered together');
});

test('in a space made before end-to-end encryption, the check-in says calmly why it cannot be kept private', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Alex');
  const b = await openPartner(browser, 'Sam');
  const made = await makePlainSpace(a.page, 'Alex', 'Our old space');
  const spaceId = made.spaceId;
  // Sam joined the way the join page did before and has not opened Mend since, so the space
  // stays as it was until his device offers its keys (conversion.spec.ts seals one).
  await joinPlainSpace(b.page, spaceId, made.inviteCode, 'Sam');
  await a.page.goto(`/s/${spaceId}`);
  const form = a.page.getByRole('form', { name: 'How are you today?' });
  await expect(
    form.getByText('Keeping one to yourself needs this space to be end-to-end encrypted'),
  ).toBeVisible();
  await expect(form.getByLabel(/Keep this to myself/)).toHaveCount(0);
  await expectAccessible(a.page, 'check-in in a plaintext space');
});
