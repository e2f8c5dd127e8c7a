import { expect } from '@playwright/test';
import { capture, createPair, expectUpToDate, test } from './support.js';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

test('weekly state of the union: the picked day reminds both on Today, appreciations from both, one issue worked through as a repair', async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const { a, b, spaceId } = await createPair(browser);
  // Midday, so the day is the same in the test's and the browser's clocks.
  const noon = new Date();
  noon.setHours(12, 0, 0, 0);
  for (const p of [a, b]) await p.page.clock.install({ time: noon });
  const today = DAYS[noon.getDay()]!;

  await a.page.goto(`/s/${spaceId}/practices`);
  await expectUpToDate(a.page);
  await a.page.getByRole('link', { name: "This week's meeting" }).click();
  await expect(a.page.getByRole('heading', { name: 'Weekly state of the union' })).toBeVisible();
  await a.page.getByRole('radio', { name: today, exact: true }).check();
  await a.page.getByRole('button', { name: 'Keep this day' }).click();
  await expect(a.page.getByText(`You meet on ${today}s.`)).toBeVisible();
  await expectUpToDate(a.page);

  // Today reminds both.
  for (const p of [a, b]) {
    await p.page.goto(`/s/${spaceId}`);
    await expectUpToDate(p.page);
    await expect(p.page.getByRole('heading', { name: 'Your weekly meeting' })).toBeVisible();
  }
  await capture(b, 'today-meeting-due', async (page) => {
    await expect(page.getByRole('heading', { name: 'Your weekly meeting' })).toBeVisible();
  });

  await a.page.getByRole('link', { name: "Start this week's meeting" }).click();
  await a.page.getByRole('button', { name: "Start this week's meeting" }).click();
  await a.page.getByLabel('Something you appreciate about Sam').fill('You made dinner on Tuesday.');
  await a.page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(a.page.getByText('You made dinner on Tuesday.')).toBeVisible();
  await expectUpToDate(a.page);

  // Once the meeting exists, the reminder goes, for both.
  await b.page.reload();
  await expectUpToDate(b.page);
  await expect(b.page.getByRole('heading', { name: 'Daily share' })).toBeVisible();
  await expect(b.page.getByRole('heading', { name: 'Your weekly meeting' })).toHaveCount(0);
  await b.page.goto(`/s/${spaceId}/meeting`);
  await expectUpToDate(b.page);
  await expect(b.page.getByText('You made dinner on Tuesday.')).toBeVisible();
  await b.page.getByLabel('Something you appreciate about Alex').fill('You listened on Sunday.');
  await b.page.getByRole('button', { name: 'Add', exact: true }).click();
  await b.page.getByLabel('What went well this week, for you').fill('We walked twice.');
  await b.page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(a.page.getByText('You listened on Sunday.')).toBeVisible();
  await expect(a.page.getByText('We walked twice.')).toBeVisible();

  // At most one issue: worked through as an after-a-fight repair.
  await a.page.getByLabel('The issue, in a few words').fill('Money talk');
  await a.page.getByRole('button', { name: 'Work through it' }).click();
  const issue = a.page.getByRole('link', { name: 'Money talk' });
  await expect(issue).toBeVisible();
  await expect(b.page.getByRole('link', { name: 'Money talk' })).toBeVisible();
  await expect(b.page.getByLabel('The issue, in a few words')).toHaveCount(0);
  await capture(a, 'meeting-this-week', async (page) => {
    await expect(page.getByRole('link', { name: 'Money talk' })).toBeVisible();
    await page.evaluate(() => window.scrollTo(0, 0));
  });
  await issue.click();
  await expect(a.page.getByRole('heading', { name: 'Money talk', level: 1 })).toBeVisible();

  await a.page.goto(`/s/${spaceId}`);
  await expectUpToDate(a.page);
  await expect(a.page.getByRole('heading', { name: 'Daily share' })).toBeVisible();
  await expect(a.page.getByRole('heading', { name: 'Your weekly meeting' })).toHaveCount(0);

  // A week later it is reread under past meetings.
  await a.page.clock.setSystemTime(new Date(noon.getTime() + 7 * 86_400_000));
  await a.page.goto(`/s/${spaceId}/meeting`);
  await expectUpToDate(a.page);
  const past = a.page.getByRole('region', { name: 'Past meetings' });
  await expect(past.getByText('You listened on Sunday.')).toBeVisible();
  await expect(past.getByRole('link', { name: 'Money talk' })).toBeVisible();

  // Progress counts the meeting held in its week.
  await a.page.goto(`/s/${spaceId}/progress`);
  const together = a.page.getByRole('table', { name: /weekly meetings held, per week/ });
  await expect(together.getByRole('row')).toHaveCount(2);
  await expect(together.getByRole('row').nth(1).getByRole('cell').nth(2)).toHaveText('1');
});
