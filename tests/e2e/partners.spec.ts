import { expect } from '@playwright/test';
import {
  createPair,
  createSpace,
  deleteSpaceOnServer,
  expectSavedOnDevice,
  expectUpToDate,
  join,
  openPartner,
  proposeAgreement,
  typeAtEnd,
  test,
} from './support.js';

test('a partner creates a space, invites, and the other joins through the link', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Alex');
  const b = await openPartner(browser, 'Sam');
  const { spaceId, inviteLink } = await createSpace(a, {
    spaceName: 'Our repair',
    role: 'I am the one repairing',
  });

  expect(inviteLink).toMatch(
    new RegExp(
      `^http://127\\.0\\.0\\.1:\\d+/join/${spaceId}#s=[A-Za-z0-9_-]+&from=Alex&space=Our\\+repair$`,
    ),
  );
  await expect(a.page.getByRole('img', { name: /QR code of the invite link/ })).toBeVisible();
  await expect(
    a.page.getByText('Anyone who has this link can join, until your partner does.'),
  ).toBeVisible();
  // The token is an HttpOnly cookie: nothing readable by page scripts holds it.
  const storage = await a.page.evaluate(
    () => JSON.stringify({ ...localStorage }) + document.cookie,
  );
  expect(storage).not.toMatch(/token/i);
  expect(await a.page.evaluate(() => document.cookie)).toBe('');

  await join(b, inviteLink);
  await expectUpToDate(b.page);
  await expect(b.page.getByText('Alex', { exact: false }).first()).toBeVisible();

  await a.page.goto(`/s/${spaceId}`);
  await expect(a.page.getByText('Sam is here now')).toBeVisible();
  await expect(b.page.getByText('Alex is here now')).toBeVisible();

  // The role chosen at the start was written into the space once it arrived.
  await b.page.goto(`/s/${spaceId}/settings`);
  await expect(b.page.getByText('Alex · the one repairing', { exact: false })).toBeVisible();

  // The spent link now explains itself to anyone else who opens it.
  const stranger = await openPartner(browser, 'Kim');
  await stranger.page.goto(inviteLink);
  await stranger.page.getByLabel('Your name').fill('Kim');
  await stranger.page.getByRole('button', { name: 'Join' }).click();
  await expect(stranger.page.getByRole('alert')).toHaveText(
    /^This invite link has already been used: the space already has two people\./,
  );

  // A link with a wrong code gets plain words too.
  await stranger.page.goto(inviteLink.replace(/#s=.*/, '#s=not-the-right-code'));
  await stranger.page.getByLabel('Your name').fill('Kim');
  await stranger.page.getByRole('button', { name: 'Join' }).click();
  await expect(stranger.page.getByRole('alert')).toContainText(/not right|already been used/);
});

test("a partner's typing in an agreement shows on the other side, with who is editing", async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  const path = await proposeAgreement(a.page, spaceId, 'Evenings', 'We talk every evening.');
  await b.page.goto(path);
  await expect(b.page.getByLabel('What we agree')).toHaveValue('We talk every evening.');

  await typeAtEnd(a.page, 'What we agree', ' Phones stay in the kitchen.');
  await expect(b.page.getByText('Alex is editing')).toBeVisible();
  // Where Alex's caret is, as the words around it.
  await expect(b.page.locator('.partner-caret')).toContainText('Alex is typing here:');
  await expect(b.page.locator('.partner-caret')).toContainText('stay in the kitchen.');
  await expect(b.page.getByLabel('What we agree')).toHaveValue(
    'We talk every evening. Phones stay in the kitchen.',
  );

  // Both type at once in different places; both keep their words.
  await typeAtEnd(b.page, 'Title', ' together');
  await typeAtEnd(a.page, 'What we agree', ' Even on hard days.');
  const expected = 'We talk every evening. Phones stay in the kitchen. Even on hard days.';
  await expect(a.page.getByLabel('Title')).toHaveValue('Evenings together');
  await expect(b.page.getByLabel('What we agree')).toHaveValue(expected);

  // Sam's caret sits after "We "; Alex adds words before it; Sam keeps typing where Sam was.
  await b.page.getByLabel('What we agree').click();
  await b.page.keyboard.press('ControlOrMeta+Home');
  for (let i = 0; i < 3; i++) await b.page.keyboard.press('ArrowRight');
  await a.page.getByLabel('What we agree').click();
  await a.page.keyboard.press('ControlOrMeta+Home');
  await a.page.keyboard.type('Monday: ');
  await expect(b.page.getByLabel('What we agree')).toHaveValue(`Monday: ${expected}`);
  await b.page.keyboard.type('both ');
  const final = `Monday: We both talk every evening. Phones stay in the kitchen. Even on hard days.`;
  await expect(a.page.getByLabel('What we agree')).toHaveValue(final);
  await expect(b.page.getByLabel('What we agree')).toHaveValue(final);
});

test('both accept a wording; after one edits it, the editor sees their proposed change, the other a change since accepting, and both what changed', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  const path = await proposeAgreement(a.page, spaceId, 'Honesty', 'I tell you where I am.');
  await b.page.goto(path);

  await a.page.getByRole('button', { name: 'I accept this wording' }).click();
  await expect(b.page.getByText('Alex accepted this wording.')).toBeVisible();
  await b.page.getByRole('button', { name: 'I accept this wording' }).click();
  await expect(a.page.getByText('Agreed', { exact: true })).toBeVisible();
  await expect(b.page.getByText('Agreed', { exact: true })).toBeVisible();

  await typeAtEnd(b.page, 'What we agree', ' Always.');
  // Sam made the change: Sam sees it as their own proposal, Alex as a change since accepting.
  await expect(a.page.getByRole('heading', { name: 'Changed since you accepted' })).toBeVisible();
  await expect(a.page.getByText('Sam proposed a change.', { exact: false })).toBeVisible();
  await expect(b.page.getByRole('heading', { name: 'Your proposed change' })).toBeVisible();
  await expect(b.page.getByText('Changed since you accepted')).toHaveCount(0);
  for (const page of [a.page, b.page]) {
    await expect(page.locator('ins.diff-added')).toContainText('Always.');
    await expect(page.getByRole('button', { name: 'I accept this wording' })).toBeVisible();
  }
  await a.page.goto(`/s/${spaceId}/agreements`);
  await expect(
    a.page.getByRole('heading', { name: 'Changed since you both accepted' }),
  ).toBeVisible();
  await expect(a.page.locator('.badge', { hasText: 'Changed since you accepted' })).toBeVisible();
  // In the list too, Sam's own edit is Sam's proposal.
  await b.page.goto(`/s/${spaceId}/agreements`);
  await expect(b.page.locator('.badge', { hasText: 'Change proposed' })).toBeVisible();
  await expect(b.page.getByText('Changed since you accepted')).toHaveCount(0);
});

test('a question is asked, answered, and asked again with the earlier answer beside the new one', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  await a.page.goto(`/s/${spaceId}/questions`);
  await a.page.getByLabel('Ask Sam a question').fill('Where were you on Friday night?');
  await a.page.getByRole('button', { name: 'Ask', exact: true }).click();
  await expect(
    a.page.getByRole('heading', { name: 'Where were you on Friday night?' }),
  ).toBeVisible();

  // Sam sees it waiting on Today, counted beside "Questions", and marked in the list.
  await b.page.goto(`/s/${spaceId}`);
  await expect(
    b.page.getByRole('link', { name: /^Questions \(\s*1 with something new\)$/ }),
  ).toBeVisible();
  await expect(b.page.getByRole('link', { name: 'Where were you on Friday night?' })).toBeVisible();
  await b.page.goto(`/s/${spaceId}/questions`);
  await expect(b.page.getByText('New question')).toBeVisible();
  await b.page.getByRole('link', { name: 'Where were you on Friday night?' }).click();

  // A half-written answer survives a reload.
  await b.page.getByLabel('Your answer', { exact: true }).fill('I was at work late, then');
  await b.page.reload();
  await expect(b.page.getByLabel('Your answer', { exact: true })).toHaveValue(
    'I was at work late, then',
  );
  await b.page
    .getByLabel('Your answer', { exact: true })
    .fill('I was at work late, then I drove around alone.');
  await b.page.getByRole('button', { name: 'Send answer' }).click();
  await expect(b.page.getByRole('alert')).toHaveCount(0);
  // Answered: no empty box facing the one who answered, and the draft is gone.
  await expect(b.page.getByText('You answered.')).toBeVisible();
  await expect(b.page.getByLabel('Your answer', { exact: true })).toHaveCount(0);
  await b.page.getByRole('button', { name: 'Add to my answer' }).click();
  await expect(b.page.getByLabel('Your answer', { exact: true })).toHaveValue('');

  await expect(a.page.getByText('I was at work late, then I drove around alone.')).toBeVisible();
  await expect(a.page.getByText('Answered', { exact: true })).toBeVisible();

  await a.page.getByRole('button', { name: 'Ask this again' }).click();
  await a.page.getByRole('button', { name: 'Send to Sam' }).click();
  await expect(a.page.getByRole('heading', { name: 'Asked before' })).toBeVisible();
  await b.page.goto(`/s/${spaceId}/questions`);
  // Both asks are listed once the second has arrived, the newest first.
  const asks = b.page.getByRole('link', { name: 'Where were you on Friday night?' });
  await expect(asks).toHaveCount(2);
  await asks.first().click();
  await expect(b.page.getByRole('heading', { name: 'Asked before' })).toBeVisible();
  await b.page
    .getByLabel('Your answer', { exact: true })
    .fill('At work, and then driving. I am sorry.');
  await b.page.getByRole('button', { name: 'Send answer' }).click();

  const columns = a.page.locator('.columns');
  await expect(columns).toContainText('I was at work late, then I drove around alone.');
  await expect(columns).toContainText('At work, and then driving. I am sorry.');
});

test("check-ins appear on the partner's Today and on Progress", async ({ browser }) => {
  const { a, b, spaceId } = await createPair(browser);
  await a.page.getByLabel('How safe do you feel with your partner right now?').fill('3');
  await a.page.getByLabel(/On alert/).check();
  await a.page.getByLabel(/A note/).fill('Hard morning.');
  await a.page.getByRole('button', { name: 'Save check-in' }).click();
  await expect(a.page.getByRole('button', { name: 'Change my check-in' })).toBeVisible();
  await expect(a.page.getByRole('alert')).toHaveCount(0);

  const partnerCard = b.page.getByRole('region', { name: "Alex's latest check-in" });
  await expect(partnerCard).toContainText('3/10');
  await expect(partnerCard).toContainText('On alert');
  await expect(partnerCard).toContainText('Hard morning.');

  await b.page.getByLabel('How safe do you feel with your partner right now?').fill('7');
  await b.page.getByLabel(/Calm/).check();
  await b.page.getByRole('button', { name: 'Save check-in' }).click();

  await a.page.goto(`/s/${spaceId}/progress`);
  await a.page.getByRole('button', { name: 'Show the numbers as tables' }).click();
  const table = a.page.getByRole('table', { name: /Felt safety by day/ });
  await expect(table).toContainText('3 (On alert)');
  await expect(table).toContainText('7 (Calm)');
  await expect(a.page.getByRole('img', { name: /Line chart of felt safety/ })).toBeVisible();
});

test('offline: both edit the same agreement, one reloads with no network, and both converge', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  const path = await proposeAgreement(a.page, spaceId, 'Weekends', 'Saturday is for us.');
  await b.page.goto(path);
  await expect(b.page.getByLabel('What we agree')).toHaveValue('Saturday is for us.');
  // The service worker must hold the app shell before the network goes.
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
  await typeAtEnd(a.page, 'What we agree', ' Alex: no work email.');
  // One sentence typed in one field is one change, not one per keystroke.
  await expect(a.page.getByText('· 1 change not sent yet', { exact: true })).toBeVisible();
  await expectSavedOnDevice(a.page);

  await a.page.reload();
  await expect(a.page.getByLabel('What we agree')).toHaveValue(
    'Saturday is for us. Alex: no work email.',
  );
  await expect(a.page.getByText(/^· \d+ changes? not sent yet$/)).toBeVisible();

  await b.page.getByLabel('What we agree').click();
  await b.page.keyboard.press('ControlOrMeta+Home');
  await b.page.keyboard.type('Sam: we sleep in. ');
  await expect(b.page.getByLabel('What we agree')).toHaveValue(
    'Sam: we sleep in. Saturday is for us.',
  );

  await a.context.setOffline(false);
  const both = 'Sam: we sleep in. Saturday is for us. Alex: no work email.';
  await expect(a.page.getByLabel('What we agree')).toHaveValue(both);
  await expect(b.page.getByLabel('What we agree')).toHaveValue(both);
  await expectUpToDate(a.page);
});

test('a device the server no longer accepts says so in plain words and offers a copy', async ({
  browser,
}) => {
  const { a, spaceId } = await createPair(browser);
  // Losing the cookie is what a device removed from the space looks like to the server.
  await a.context.clearCookies();
  await a.page.reload();
  await expect(
    a.page.getByRole('heading', { name: 'This device is no longer part of this space' }),
  ).toBeVisible();
  await expect(a.page.getByRole('status').filter({ hasText: 'Not connected' })).toBeVisible();
  await a.page.getByRole('link', { name: 'Save a copy of what is on this device' }).click();
  await expect(a.page).toHaveURL(new RegExp(`/s/${spaceId}/export$`));
  await expect(a.page.getByRole('button', { name: 'Download as Markdown' })).toBeVisible();
});

test('the same space open in two tabs says so, and both tabs stay in step', async ({ browser }) => {
  const { a, spaceId } = await createPair(browser);
  const second = await a.context.newPage();
  await second.goto(`/s/${spaceId}/boundaries`);
  await expect(second.getByText('This space is also open in another tab')).toBeVisible();
  await expect(a.page.getByText('This space is also open in another tab')).toBeVisible();

  await second.getByLabel('Add a boundary').fill('No raised voices after ten.');
  await second.getByRole('button', { name: 'Add boundary' }).click();
  await a.page.goto(`/s/${spaceId}/boundaries`);
  await expect(a.page.getByText('No raised voices after ten.')).toBeVisible();
});

test('a deleted space says so, and what is on the device can still be read and saved', async ({
  browser,
}) => {
  const { a, spaceId } = await createPair(browser);
  await proposeAgreement(a.page, spaceId, 'Kept here', 'This stays readable on the device.');
  await expectSavedOnDevice(a.page);
  deleteSpaceOnServer(spaceId);
  await a.page.goto(`/s/${spaceId}/agreements`);
  await expect(a.page.getByRole('heading', { name: 'This space was deleted' })).toBeVisible();
  await expect(a.page.getByRole('link', { name: 'Kept here' })).toBeVisible();
  await a.page.getByRole('link', { name: 'Save a copy of what is on this device' }).click();
  const download = a.page.waitForEvent('download');
  await a.page.getByRole('button', { name: 'Download as Markdown' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^mend-\d{4}-\d{2}-\d{2}\.md$/);
});

test('a boundary is acknowledged, and asks to be read again after its owner changes it', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  await a.page.goto(`/s/${spaceId}/boundaries`);
  await a.page.getByLabel('Add a boundary').fill('Tell me before you see your ex.');
  await a.page.getByRole('button', { name: 'Add boundary' }).click();

  await b.page.goto(`/s/${spaceId}/boundaries`);
  await b.page.getByRole('button', { name: 'I have read this and I acknowledge it' }).click();
  await expect(a.page.getByText('Sam acknowledged this')).toBeVisible();

  await a.page.getByRole('button', { name: 'Edit' }).click();
  await a.page.getByLabel('Change this boundary').fill('Tell me a day before you see your ex.');
  await a.page.getByRole('button', { name: 'Save' }).click();
  await expect(b.page.getByText('Tell me a day before you see your ex.')).toBeVisible();
  await expect(b.page.getByText('Not yet acknowledged')).toBeVisible();
  await expect(a.page.getByText('Sam has not acknowledged this yet')).toBeVisible();
});

test('the morning after, yesterday can still be logged from Today', async ({ browser }) => {
  const { a, b, spaceId } = await createPair(browser);
  const path = await proposeAgreement(a.page, spaceId, 'Check in at lunch', 'A message at noon.');
  await a.page.getByRole('button', { name: 'I accept this wording' }).click();
  await b.page.goto(path);
  await b.page.getByRole('button', { name: 'I accept this wording' }).click();
  await expect(a.page.getByText('Agreed', { exact: true })).toBeVisible();

  // Alex opens Mend the next day.
  await a.page.clock.install({ time: Date.now() + 24 * 3_600_000 });
  await a.page.goto(`/s/${spaceId}`);
  const yesterday = a.page.getByRole('region', { name: /^Yesterday/ });
  await expect(yesterday).toContainText('Check in at lunch');
  await yesterday.getByRole('button', { name: 'Kept' }).click();
  await expect(yesterday.getByRole('button', { name: 'Kept' })).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await a.page.goto(`/s/${spaceId}/agreements${path.slice(path.lastIndexOf('/'))}`);
  await expect(a.page.locator('.calendar')).toContainText('You: Kept');
});
