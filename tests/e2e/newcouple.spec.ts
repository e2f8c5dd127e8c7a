import { Limits } from '@mend/model';
import { expect } from '@playwright/test';
import {
  createPair,
  createSpace,
  expectUpToDate,
  openPartner,
  proposeAgreement,
  test,
} from './support.js';

test("retiring an agreement and closing a question ask first, take a reason, and show on the partner's Today until seen", async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  const path = await proposeAgreement(a.page, spaceId, 'Phones on the table', 'Face up, always.');
  await a.page.getByRole('button', { name: 'I accept this wording' }).click();
  await b.page.goto(path);
  await b.page.getByRole('button', { name: 'I accept this wording' }).click();

  // Sam retires it: one tap only asks; nothing changes until Sam confirms.
  await b.page.getByRole('button', { name: 'Retire' }).click();
  await expect(
    b.page.getByRole('heading', { name: 'Retire “Phones on the table”?' }),
  ).toBeVisible();
  await expect(b.page.getByText('Agreed', { exact: true })).toBeVisible();
  await b.page.getByLabel('Why? (optional)').fill('we replaced it');
  await b.page.getByRole('button', { name: 'Retire it' }).click();
  await expect(b.page.getByText(/^Retired by You on/)).toBeVisible();
  await expect(b.page.getByText('we replaced it')).toBeVisible();

  // Alex asked a question; Sam closes it with a reason.
  await a.page.goto(`/s/${spaceId}/questions`);
  await a.page.getByLabel('Ask Sam a question').fill('Can we talk on Sunday?');
  await a.page.getByRole('button', { name: 'Ask', exact: true }).click();
  await expect(a.page.getByRole('heading', { name: 'Can we talk on Sunday?' })).toBeVisible();
  const question = new URL(a.page.url()).pathname;
  await b.page.goto(question);
  await b.page.getByRole('button', { name: 'Close this question' }).click();
  await b.page.getByLabel('Why? (optional)').fill('We talked on Saturday.');
  await b.page.getByRole('button', { name: 'Close it' }).click();

  // Alex sees who closed it and why on its page.
  await expect(a.page.getByText(/^Sam closed this question on .*:$/)).toBeVisible();
  await expect(a.page.getByText('We talked on Saturday.')).toBeVisible();

  // Alex's Today tells both, until Alex has seen them; Sam's does not.
  await a.page.goto(`/s/${spaceId}`);
  const changes = a.page.getByRole('region', { name: 'What Sam changed' });
  await expect(changes.getByRole('listitem').nth(0)).toContainText(
    'Sam retired Phones on the table: “we replaced it”',
  );
  await expect(changes.getByRole('listitem').nth(1)).toContainText(
    'Sam closed the question Can we talk on Sunday?: “We talked on Saturday.”',
  );
  await b.page.goto(`/s/${spaceId}`);
  await expect(b.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
  await expect(b.page.getByRole('region', { name: /changed$/ })).toHaveCount(0);

  await changes.getByRole('button', { name: 'Seen' }).first().click();
  await expect(changes.getByRole('listitem')).toHaveCount(1);
  await changes.getByRole('button', { name: 'Seen' }).click();
  await expect(changes).toHaveCount(0);
  await a.page.reload();
  await expect(a.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
  await expect(a.page.getByRole('region', { name: 'What Sam changed' })).toHaveCount(0);
});

test('a check-in starts with nothing chosen, and saving without a choice asks for it calmly', async ({
  browser,
}) => {
  const { a, b } = await createPair(browser);
  const form = a.page.getByRole('form', { name: 'How are you today?' });
  await expect(
    form
      .getByRole('group', { name: 'What is your body doing?' })
      .getByRole('radio', { checked: true }),
  ).toHaveCount(0);
  await expect(form.getByRole('slider')).toHaveAttribute('aria-valuetext', 'not chosen yet');

  await form.getByRole('button', { name: 'Save check-in' }).click();
  await expect(a.page.getByRole('alert')).toHaveText(
    'Please choose how safe you feel and what your body is doing. There is no wrong answer.',
  );
  await a.page.getByLabel('How safe do you feel with your partner right now?').fill('4');
  await form.getByRole('button', { name: 'Save check-in' }).click();
  await expect(a.page.getByRole('alert')).toHaveText(
    'Please choose what your body is doing. There is no wrong answer.',
  );
  // Nothing was recorded for Alex.
  await expect(
    b.page.getByRole('region', { name: "Alex's latest check-in" }).getByText('No check-in yet.'),
  ).toBeVisible();

  await a.page.getByLabel(/Frozen or numb/).check();
  await form.getByRole('button', { name: 'Save check-in' }).click();
  await expect(a.page.getByRole('button', { name: 'Change my check-in' })).toBeVisible();
  await expect(b.page.getByRole('region', { name: "Alex's latest check-in" })).toContainText(
    '4/10',
  );
});

test('asking again opens the question with room for context, and sends only when asked to', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  await a.page.goto(`/s/${spaceId}/questions`);
  await a.page.getByLabel('Ask Sam a question').fill('Do you still talk to her?');
  await a.page.getByRole('button', { name: 'Ask', exact: true }).click();
  await expect(a.page.getByRole('heading', { name: 'Do you still talk to her?' })).toBeVisible();
  const first = new URL(a.page.url()).pathname;
  await b.page.goto(first);
  await b.page.getByLabel('Your answer', { exact: true }).fill('No.');
  await b.page.getByRole('button', { name: 'Send answer' }).click();
  // The one who answered is not offered an empty box again, nor to ask their partner's question.
  await expect(b.page.getByText('You answered.')).toBeVisible();
  await expect(b.page.getByLabel('Your answer', { exact: true })).toHaveCount(0);
  await expect(b.page.getByRole('button', { name: 'Ask this again' })).toHaveCount(0);

  await expect(a.page.getByText('No.', { exact: true })).toBeVisible();
  await a.page.getByRole('button', { name: 'Ask this again' }).click();
  // Nothing is sent yet: the form holds the question and a line of context.
  await expect(a.page.getByLabel('The question')).toHaveValue('Do you still talk to her?');
  expect(new URL(a.page.url()).pathname).toBe(first);
  await a.page.getByLabel(/A line of context/).fill('I saw a message from her last week.');
  await a.page.getByRole('button', { name: 'Send to Sam' }).click();
  await expect(a.page.getByRole('heading', { name: 'Asked before' })).toBeVisible();
  await expect(a.page.getByRole('heading', { level: 1 })).toHaveText(
    'Do you still talk to her?\n\nI saw a message from her last week.',
  );

  // On the earlier question's page, the later ask is labelled "Later", after "This time".
  await a.page.goto(first);
  const headings = a.page.locator('.columns h3');
  await expect(headings).toHaveCount(2);
  await expect(headings.nth(0)).toContainText('This time');
  await expect(headings.nth(1)).toContainText('Later');
});

test('logging a day says whose keeping it is', async ({ browser }) => {
  const { a, b, spaceId } = await createPair(browser);
  const path = await proposeAgreement(a.page, spaceId, 'Evenings', 'We talk every evening.');
  await a.page.getByRole('button', { name: 'I accept this wording' }).click();
  await b.page.goto(path);
  await b.page.getByRole('button', { name: 'I accept this wording' }).click();
  await a.page.goto(`/s/${spaceId}`);
  const day = a.page.getByRole('group', { name: 'Did you keep “Evenings” today?' });
  await expect(day.getByRole('button')).toHaveText([
    'I kept it',
    'I missed it',
    'It did not come up for me',
  ]);
});

test('the links a thumb needs on Today are at least 44 px tall', async ({ browser }) => {
  const { a, b, spaceId } = await createPair(browser);
  await b.page.goto(`/s/${spaceId}/boundaries`);
  await b.page.getByLabel('Add a boundary').fill('Knock before you come in.');
  await b.page.getByRole('button', { name: 'Add boundary' }).click();
  await a.page.setViewportSize({ width: 375, height: 812 });
  await a.page.goto(`/s/${spaceId}`);
  for (const name of ['Settings', 'See agreements', 'Read boundaries', 'Questions']) {
    const box = await a.page.getByRole('link', { name, exact: true }).boundingBox();
    expect(box?.height, name).toBeGreaterThanOrEqual(44);
  }
});

test('on a phone the sections fit in two rows of thumb-sized links, and "Too much?" stays in view while the page scrolls', async ({
  browser,
}) => {
  const { a, spaceId } = await createPair(browser);
  const nav = a.page.getByRole('navigation', { name: 'Sections' });
  for (const width of [320, 375]) {
    await a.page.setViewportSize({ width, height: 640 });
    await a.page.goto(`/s/${spaceId}/share`);
    await expect(nav.getByRole('link', { name: 'Practices' })).toHaveAttribute(
      'aria-current',
      'page',
    );
    const boxes = await nav
      .getByRole('link')
      .evaluateAll((links) => links.map((link) => link.getBoundingClientRect()));
    expect(boxes, `sections at ${width}px`).toHaveLength(6);
    expect(new Set(boxes.map((box) => Math.round(box.top))).size, `rows at ${width}px`).toBe(2);
    for (const box of boxes) expect(box.height).toBeGreaterThanOrEqual(44);

    await a.page.mouse.wheel(0, 5000);
    await expect.poll(() => a.page.evaluate(() => window.scrollY)).toBeGreaterThan(300);
    await expect(a.page.getByRole('link', { name: 'Too much?' })).toBeInViewport();
  }
});

test('the keep-log calendar starts on the day the agreement was proposed', async ({ browser }) => {
  const { a, spaceId } = await createPair(browser);
  await proposeAgreement(a.page, spaceId, 'Evenings', 'We talk every evening.');
  const calendar = a.page.getByRole('table', { name: /Keep log for the last/ });
  // Only today can be "not logged": the days before it the agreement did not exist.
  await expect(calendar.getByText(/You: not logged/)).toHaveCount(1);
});

test("in dark mode both partners' chart lines stand out from the card, and a new space's chart starts with its first week", async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  for (const p of [a, b]) {
    await p.page.goto(`/s/${spaceId}`);
    await p.page.getByLabel('How safe do you feel with your partner right now?').fill('6');
    await p.page.getByLabel(/Calm/).check();
    await p.page.getByRole('button', { name: 'Save check-in' }).click();
    await expect(p.page.getByRole('button', { name: 'Change my check-in' })).toBeVisible();
  }
  await a.page.emulateMedia({ colorScheme: 'dark' });
  await a.page.goto(`/s/${spaceId}/progress`);
  const chart = a.page.getByRole('img', { name: /Line chart of felt safety/ });
  const ratios = await chart.evaluate((element) => {
    const luminance = (hex: string) => {
      const [r, g, b] = [1, 3, 5].map((i) => {
        const c = parseInt(hex.slice(i, i + 2), 16) / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    const surface = getComputedStyle(document.documentElement).getPropertyValue('--surface').trim();
    return (element.getAttribute('data-colors') ?? '').split(' ').map((color) => {
      const [hi, lo] = [luminance(color), luminance(surface)].sort((x, y) => y - x);
      return (hi! + 0.05) / (lo! + 0.05);
    });
  });
  expect(ratios).toHaveLength(2);
  for (const ratio of ratios) expect(ratio).toBeGreaterThanOrEqual(3);
  // A space a day old shows its first week, not eight weeks of empty axis.
  await expect(chart).toHaveAttribute('data-days', '7');
});

test('a check-in on the top of the scale, on the last day, is drawn whole at the corner of its chart', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Alex');
  const { spaceId } = await createSpace(a);
  await a.page.goto(`/s/${spaceId}`);
  await a.page.getByLabel('How safe do you feel with your partner right now?').fill('10');
  await a.page.getByLabel(/Calm/).check();
  await a.page.getByRole('button', { name: 'Save check-in' }).click();
  await expect(a.page.getByRole('button', { name: 'Change my check-in' })).toBeVisible();
  await a.page.goto(`/s/${spaceId}/progress`);
  const chart = a.page.getByRole('img', { name: /Line chart of felt safety/ });
  await expect(chart).toBeVisible();
  // One point and no line: the pixels of this partner's colour in the chart's right-hand strip
  // (the legend is centred, away from it) are the point alone. A point cut by the chart area
  // shows a half or, in the corner, a quarter of its disc.
  const measure = () =>
    chart.evaluate((element) => {
      const canvas = element.querySelector('canvas')!;
      const scale = canvas.width / canvas.clientWidth;
      const color = (element.getAttribute('data-colors') ?? '').split(' ')[0] ?? '';
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
      const strip = Math.round(40 * scale);
      const pixels = canvas
        .getContext('2d')!
        .getImageData(canvas.width - strip, 0, strip, canvas.height).data;
      let painted = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        const near =
          Math.abs(pixels[i]! - r!) < 40 &&
          Math.abs(pixels[i + 1]! - g!) < 40 &&
          Math.abs(pixels[i + 2]! - b!) < 40;
        if (near && pixels[i + 3]! > 200) painted += 1;
      }
      // Chart.js draws a point of radius 4 with a 1 px border: a disc about 4.5 px in radius.
      return { painted, disc: Math.PI * (4.5 * scale) ** 2 };
    });
  await expect.poll(async () => (await measure()).painted).toBeGreaterThan(0);
  const { painted, disc } = await measure();
  expect(painted).toBeGreaterThan(0.7 * disc);
});

test('saving a check-in on a phone keeps its heading below the sticky header', async ({
  browser,
}) => {
  const { a } = await createPair(browser);
  // Short enough that the Save button is reached by scrolling past the form's heading.
  await a.page.setViewportSize({ width: 375, height: 480 });
  await a.page.getByLabel('How safe do you feel with your partner right now?').fill('6');
  await a.page.getByLabel(/Calm/).check();
  await a.page.getByRole('button', { name: 'Save check-in' }).click();
  const heading = a.page.getByRole('heading', { name: 'Your check-in today' });
  await expect(heading).toBeVisible();
  const header = await a.page.locator('header.top').boundingBox();
  const top = await heading.boundingBox();
  expect(top!.y).toBeGreaterThanOrEqual(header!.y + header!.height);
});

test('both partners are asked for their role, and told the other will see it', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Alex');
  const b = await openPartner(browser, 'Sam');
  await a.page.goto('/');
  await expect(a.page.getByText('Your partner will see the role you choose.')).toBeVisible();
  const { spaceId, inviteLink } = await createSpace(a, { role: 'I am the one repairing' });
  await b.page.goto(inviteLink);
  await expect(b.page.getByText('Your partner will see the role you choose.')).toBeVisible();
  await b.page.getByLabel('Your name').fill('Sam');
  await b.page.getByLabel('I was hurt').check();
  await b.page.getByRole('button', { name: 'Join' }).click();
  await expect(b.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
  await a.page.goto(`/s/${spaceId}/settings`);
  await expect(a.page.getByText('Sam · the one who was hurt', { exact: false })).toBeVisible();
});

test('the start page and a stranger page make one promise about where the space lives', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Alex');
  const promise =
    'Your space is kept on your two devices, and on this Mend server locked with keys only your devices hold: nobody else can read it, not even whoever runs the server.';
  await a.page.goto('/');
  await expect(a.page.getByText(promise)).toBeVisible();
  await a.page.goto('/s/AAAAAAAAAAAAAAAAAAAAAA');
  await expect(a.page.getByText(promise)).toBeVisible();
  await expect(a.page.getByText(/only on the devices/)).toHaveCount(0);
});

test('a used or wrong invite link says so once and offers no Join button', async ({ browser }) => {
  const { inviteLink } = await createPair(browser);
  const stranger = await openPartner(browser, 'Kim');
  await stranger.page.goto(inviteLink);
  await stranger.page.getByLabel('Your name').fill('Kim');
  await stranger.page.getByRole('button', { name: 'Join' }).click();
  const alert = stranger.page.getByRole('alert');
  await expect(alert).toHaveText(
    'This invite link has already been used: the space already has two people. If that was you on another device, open Mend there. Otherwise, talk to your partner.',
  );
  await expect(stranger.page.getByRole('button', { name: 'Join' })).toHaveCount(0);

  await stranger.page.goto(inviteLink.replace(/#s=.*/, '#s=not-the-right-code'));
  await stranger.page.getByLabel('Your name').fill('Kim');
  await stranger.page.getByRole('button', { name: 'Join' }).click();
  await expect(alert).toHaveText(
    'This invite link is not complete or not right. Ask your partner to send the whole link again.',
  );
  await expect(stranger.page.getByRole('button', { name: 'Join' })).toHaveCount(0);
});

test('agreements to accept and boundaries to read are counted like questions, and a new reply on Today is a link', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  await proposeAgreement(a.page, spaceId, 'Evenings', 'We talk every evening.');
  await b.page.goto(`/s/${spaceId}/boundaries`);
  await b.page.getByLabel('Add a boundary').fill('Knock before you come in.');
  await b.page.getByRole('button', { name: 'Add boundary' }).click();
  await expect(
    b.page.getByRole('link', { name: /^Agreements \(\s*1 waiting for you to accept\)$/ }),
  ).toBeVisible();
  await expect(a.page.getByRole('link', { name: /^Boundaries \(\s*1 to read\)$/ })).toBeVisible();

  await a.page.goto(`/s/${spaceId}/questions`);
  await a.page.getByLabel('Ask Sam a question').fill('Where were you?');
  await a.page.getByRole('button', { name: 'Ask', exact: true }).click();
  await expect(a.page.getByRole('heading', { name: 'Where were you?' })).toBeVisible();
  const question = new URL(a.page.url()).pathname;
  // Alex is on Today, not reading the thread, when the answer comes.
  await a.page.goto(`/s/${spaceId}`);
  await b.page.goto(question);
  await b.page.getByLabel('Your answer', { exact: true }).fill('At work.');
  await b.page.getByRole('button', { name: 'Send answer' }).click();
  await expect(b.page.getByText('You answered.')).toBeVisible();

  await a.page.getByRole('link', { name: '1 new reply in 1 question' }).click();
  await expect(a.page.getByText('At work.')).toBeVisible();
  expect(new URL(a.page.url()).pathname).toBe(question);
});

test('a name over its limit is counted and refused with a message, never cut short', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Alex');
  await a.page.goto('/');
  const name = a.page.getByLabel('Your name');
  await name.fill('x'.repeat(Limits.displayName - 5));
  await expect(a.page.getByText('5 characters left.')).toBeVisible();

  const tooLong = 'x'.repeat(Limits.displayName + 1);
  await name.fill(tooLong);
  await expect(name).toHaveValue(tooLong);
  await expect(
    a.page.getByText(`1 character too long: this can be up to ${Limits.displayName} characters.`),
  ).toBeVisible();
  await a.page.getByRole('button', { name: 'Create our space' }).click();
  await expect(a.page.getByRole('alert')).toHaveText(
    `Your name is 1 character too long. Please shorten it to ${Limits.displayName} characters or fewer.`,
  );
  await expect(a.page.getByRole('heading', { name: 'Start a new space' })).toBeVisible();

  // An emoji is one character to Mend, though two to the browser's maxlength.
  const sprouts = '🌱'.repeat(Limits.displayName);
  await name.fill(sprouts);
  await expect(name).toHaveValue(sprouts);
  await a.page.getByRole('button', { name: 'Create our space' }).click();
  await expect(a.page.getByRole('heading', { name: 'Invite your partner' })).toBeVisible();
});

test('the join page shows who invited you and the name of the space, as plain text', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Alex');
  const b = await openPartner(browser, 'Sam');
  const { inviteLink } = await createSpace(a, { spaceName: 'Our repair' });
  await b.page.goto(inviteLink);
  const heading = b.page.getByRole('heading', { level: 1 });
  await expect(heading).toHaveText('Alex invited you to Our repair');
  await expect(heading.locator('em')).toHaveText('Our repair');

  // The names come from the link, which anyone can write: shown as text, never as markup.
  const crafted = inviteLink.replace(/&from=[^&]*/, `&from=${encodeURIComponent('<b>Kim</b>')}`);
  await b.page.goto('/');
  await b.page.goto(crafted);
  await expect(heading).toHaveText('<b>Kim</b> invited you to Our repair');
  await expect(heading.locator('b')).toHaveCount(0);
  await b.page.getByLabel('Your name').fill('Sam');
  await b.page.getByRole('button', { name: 'Join' }).click();
  await expect(b.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
});

test('each partner chooses in Settings whether the other sees when they are here and when they were last here', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  await a.page.goto(`/s/${spaceId}/settings`);
  const here = a.page.getByLabel('Show when I am here');
  const lastSeen = a.page.getByLabel('Show when I was last here');
  await expect(here).toBeChecked();
  await expect(lastSeen).toBeChecked();
  await expect(a.page.getByText(/checking up on each other/)).toBeVisible();
  await expect(b.page.getByText('Alex is here now')).toBeVisible();

  // Here off: Sam sees when Alex was last here, never a false "not here".
  await here.uncheck();
  await expect(b.page.getByText(/^Alex was last here/)).toBeVisible();
  await expect(b.page.getByText('Alex is here now')).toHaveCount(0);

  // Both off: Sam's screen says nothing about Alex's comings and goings.
  await lastSeen.uncheck();
  const anyStatus = b.page.getByText(/^Alex (is here now|was last here|is not here)/);
  await expect(b.page.getByText(/^Alex was last here/)).toHaveCount(0);
  await b.page.reload();
  await expectUpToDate(b.page);
  await expect(anyStatus).toHaveCount(0);

  // The choice is Alex's, kept in the space: a reload keeps it, and turning it on shows again.
  await a.page.reload();
  await expect(here).not.toBeChecked();
  await expect(lastSeen).not.toBeChecked();
  await here.check();
  await expect(b.page.getByText('Alex is here now')).toBeVisible();
});
