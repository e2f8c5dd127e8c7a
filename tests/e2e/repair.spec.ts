import { expect, type Page } from '@playwright/test';
import { capture, createPair, expectUpToDate, test } from './support.js';

const TITLE = 'Sunday evening, about my phone';
const STEPS = [
  'Step 1 · What I felt',
  'Step 2 · My reality',
  'Step 3 · What it triggered',
  'Step 4 · What I own',
];
const ANSWERS = {
  Alex: [
    'I felt shut out when you turned away.',
    'You were on your phone all evening.',
    'The nights before I found out.',
    'I raised my voice.',
  ],
  Sam: [
    'I felt cornered and ashamed.',
    'I was answering work messages.',
    'Being watched all the time.',
    'I did not explain what I was doing.',
  ],
};
const NEXT = {
  Alex: 'Ask calmly what is going on before I assume.',
  Sam: 'Put my phone away at dinner.',
};

function step(page: Page, n: number) {
  return page.getByRole('region', { name: STEPS[n] });
}

/** Answers the four steps in order; step one with a feeling chosen and words. */
async function answerSteps(page: Page, name: 'Alex' | 'Sam') {
  const words = ANSWERS[name];
  const one = step(page, 0);
  await one.getByLabel(name === 'Alex' ? 'Hurt' : 'Ashamed', { exact: true }).check();
  await one.getByLabel('In your own words').fill(words[0]!);
  await one.getByRole('button', { name: 'Send my answer' }).click();
  for (let i = 1; i < 4; i++) {
    const s = step(page, i);
    await s.getByRole('textbox', { name: 'Your answer' }).fill(words[i]!);
    await s.getByRole('button', { name: 'Send my answer' }).click();
    await expect(s.getByText(words[i]!)).toBeVisible();
  }
}

test('after a fight: both answer four steps revealed together, step five becomes a draft agreement, and the repair is marked done', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const { a, b, spaceId } = await createPair(browser);

  await a.page.goto(`/s/${spaceId}/practices`);
  await expectUpToDate(a.page);
  await a.page.getByRole('link', { name: 'Start or reread a repair' }).click();
  await expect(a.page.getByRole('heading', { name: 'After a fight', level: 1 })).toBeVisible();
  await a.page.getByLabel('What happened, in a few words').fill(TITLE);
  await capture(a, 'repair-start', async (page) => {
    await expect(page.getByLabel('What happened, in a few words')).toHaveValue(TITLE);
  });
  await a.page.getByRole('button', { name: 'Start the repair' }).click();
  await expect(a.page.getByRole('heading', { name: TITLE, level: 1 })).toBeVisible();
  // One after another: step two opens once step one is answered.
  await expect(step(a.page, 1)).toContainText('Opens once you have answered step 1.');
  await capture(a, 'repair-step-one', async (page) => {
    await expect(step(page, 0).getByText('Neither of you has answered yet.')).toBeVisible();
    await page.evaluate(() => window.scrollTo(0, 0));
  });

  await answerSteps(a.page, 'Alex');
  for (let i = 0; i < 4; i++) {
    await expect(
      step(a.page, i).getByText('You have answered. Sam has not answered yet.'),
    ).toBeVisible();
  }
  await expect(step(a.page, 0)).toContainText('Hurt');
  await expectUpToDate(a.page);

  // Sam's Today says which step of the repair waits for Sam's answer, and leads to it.
  await b.page.goto(`/s/${spaceId}`);
  await expectUpToDate(b.page);
  const waiting = b.page
    .getByRole('region', { name: 'After a fight' })
    .getByRole('link', { name: `“${TITLE}”: step 1, What I felt` });
  await capture(b, 'today-repair-step-waiting', async () => {
    await expect(waiting).toBeVisible();
  });
  await waiting.click();
  await expect(b.page.getByRole('heading', { name: TITLE, level: 1 })).toBeVisible();

  // Sam sees only that Alex answered, never Alex's words.
  await b.page.goto(`/s/${spaceId}/repair`);
  await expectUpToDate(b.page);
  await b.page.getByRole('link', { name: TITLE }).click();
  await expect(
    step(b.page, 0).getByText('Alex has answered; your answer reveals both.'),
  ).toBeVisible();
  for (const words of ANSWERS.Alex) expect(await b.page.content()).not.toContain(words);
  await capture(b, 'repair-partner-answered', async (page) => {
    await expect(
      step(page, 0).getByText('Alex has answered; your answer reveals both.'),
    ).toBeVisible();
    await page.evaluate(() => window.scrollTo(0, 0));
  });
  await answerSteps(b.page, 'Sam');

  // Both answers of every step, side by side, on both devices.
  for (const { page, own, other, otherName } of [
    { page: a.page, own: ANSWERS.Alex, other: ANSWERS.Sam, otherName: 'Sam' },
    { page: b.page, own: ANSWERS.Sam, other: ANSWERS.Alex, otherName: 'Alex' },
  ]) {
    for (let i = 0; i < 4; i++) {
      const both = step(page, i).getByRole('region', { name: 'Both answers' });
      await expect(both.getByRole('article', { name: 'Your answer' })).toContainText(own[i]!);
      await expect(both.getByRole('article', { name: `${otherName}’s answer` })).toContainText(
        other[i]!,
      );
    }
  }
  await expect(step(b.page, 0).getByRole('article', { name: 'Alex’s answer' })).toContainText(
    'Hurt',
  );
  await expect(a.page.getByRole('button', { name: 'Mark this repair done' })).toHaveCount(0);

  // Step five, written openly by each.
  for (const { page, name } of [
    { page: a.page, name: 'Alex' as const },
    { page: b.page, name: 'Sam' as const },
  ]) {
    await page.getByLabel('What you would do differently next time').fill(NEXT[name]);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(
      page.getByRole('article', { name: 'What you would do differently' }),
    ).toContainText(NEXT[name]);
  }
  await expect(
    a.page.getByRole('article', { name: 'What Sam would do differently' }),
  ).toContainText(NEXT.Sam);

  // One tap turns Alex's into a draft agreement.
  await a.page.getByRole('button', { name: 'Make it a draft agreement' }).click();
  const draft = a.page.getByRole('link', { name: 'See the draft agreement' });
  await expect(draft).toBeVisible();
  await capture(a, 'repair-revealed', async (page) => {
    await expect(page.getByRole('button', { name: 'Mark this repair done' })).toBeVisible();
  });
  await a.page.getByRole('button', { name: 'Mark this repair done' }).click();
  await expect(
    a.page.getByRole('status').filter({ hasText: 'Done. You marked it done' }),
  ).toBeVisible();
  await expect(
    b.page.getByRole('status').filter({ hasText: 'Done. Alex marked it done' }),
  ).toBeVisible();
  await expect(b.page.getByLabel('What you would do differently next time')).toHaveCount(0);
  await capture(b, 'repair-done', async (page) => {
    await expect(page.getByText('Done. Alex marked it done', { exact: false })).toBeVisible();
    await page.evaluate(() => window.scrollTo(0, 0));
  });

  await draft.click();
  await expect(a.page.getByRole('heading', { name: NEXT.Alex })).toBeVisible();
  await b.page.goto(`/s/${spaceId}/agreements`);
  await expect(b.page.getByRole('link', { name: NEXT.Alex })).toBeVisible();

  // Reread from the list.
  await a.page.goto(`/s/${spaceId}/repair`);
  await expect(a.page.getByRole('listitem').filter({ hasText: TITLE })).toContainText('Done.');

  // Progress counts it, for both.
  await b.page.goto(`/s/${spaceId}/progress`);
  const together = b.page.getByRole('table', { name: /repairs after a fight marked done/ });
  const week = together.getByRole('row').nth(1).getByRole('cell');
  // Its steps were answered together, but they are the repair's: one repair, no questions.
  await expect(week.nth(0)).toHaveText('0');
  await expect(week.nth(1)).toHaveText('1');
});
