import { expect, type Page } from '@playwright/test';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  artifacts,
  createSpace,
  expectAccessible,
  expectUpToDate,
  join,
  openPartner,
  proposeAgreement,
  screenshot,
  typeAtEnd,
  test,
} from './support.js';

const viewports = [
  { name: '320', width: 320, height: 640 },
  { name: '375', width: 375, height: 812 },
  { name: '1280', width: 1280, height: 800 },
] as const;

interface Screen {
  name: string;
  path: string;
  ready: (page: Page) => Promise<void>;
}

test('every screen passes an accessibility scan, fits 320 and 375 px without sideways scrolling, and is captured at phone and desktop widths', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const a = await openPartner(browser, 'Alex');
  const b = await openPartner(browser, 'Sam');

  const start: Screen = {
    name: 'start',
    path: '/',
    ready: async (page) => {
      await expect(page.getByRole('button', { name: 'Create our space' })).toBeVisible();
    },
  };
  const notFound: Screen = {
    name: 'not-found',
    path: '/no/such/page',
    ready: async (page) => {
      await expect(page.getByRole('heading', { name: 'This page does not exist' })).toBeVisible();
    },
  };
  const notMember: Screen = {
    name: 'not-a-member',
    path: '/s/AAAAAAAAAAAAAAAAAAAAAA',
    ready: async (page) => {
      await expect(
        page.getByRole('heading', { name: 'This device is not part of this space' }),
      ).toBeVisible();
    },
  };
  await visitAll(a.page, [start, notFound, notMember]);

  // A long name, as people give their space: it must not widen the page on a phone.
  const { spaceId, inviteLink } = await createSpace(a, {
    spaceName: 'Our repair, slowly and honestly, one evening after another, together',
  });
  await visitAll(a.page, [
    {
      name: 'invite',
      path: `/s/${spaceId}/invite`,
      ready: async (page) => {
        await expect(page.getByRole('img', { name: /QR code/ })).toBeVisible();
      },
    },
  ]);
  const joinPath = new URL(inviteLink).pathname + new URL(inviteLink).hash;
  await visitAll(b.page, [
    {
      name: 'join',
      path: joinPath,
      ready: async (page) => {
        await expect(page.getByRole('button', { name: 'Join' })).toBeVisible();
      },
    },
  ]);
  await join(b, inviteLink);

  // Some life in the space, so each screen shows what it is for.
  await a.page.goto(`/s/${spaceId}`);
  await expectUpToDate(a.page);
  const agreement = await proposeAgreement(
    a.page,
    spaceId,
    'Evenings together',
    'We talk for twenty minutes every evening, phones in the kitchen.',
  );
  await a.page.getByRole('button', { name: 'I accept this wording' }).click();
  await b.page.goto(agreement);
  await b.page.getByRole('button', { name: 'I accept this wording' }).click();
  await expect(a.page.getByText('Agreed', { exact: true })).toBeVisible();
  await proposeAgreement(a.page, spaceId, 'Passwords', 'Our phones have no secret codes.');
  const changing = await proposeAgreement(
    a.page,
    spaceId,
    'Where I am',
    'I tell you where I am when plans change.',
  );
  await a.page.getByRole('button', { name: 'I accept this wording' }).click();
  await b.page.goto(changing);
  await b.page.getByRole('button', { name: 'I accept this wording' }).click();
  await typeAtEnd(b.page, 'What we agree', ' Before, not after.');
  await expect(a.page.getByRole('heading', { name: 'Changed since you accepted' })).toBeVisible();

  await a.page.goto(`/s/${spaceId}`);
  await a.page.getByRole('button', { name: 'Kept' }).first().click();
  await a.page.getByLabel('How safe do you feel with your partner right now?').fill('4');
  await a.page.getByLabel(/On alert/).check();
  await a.page.getByLabel(/A note/).fill('A hard night, but we talked.');
  await a.page.getByRole('button', { name: 'Save check-in' }).click();
  await b.page.goto(`/s/${spaceId}`);
  await b.page.getByLabel('How safe do you feel with your partner right now?').fill('7');
  await b.page.getByLabel(/Calm/).check();
  await b.page.getByRole('button', { name: 'Save check-in' }).click();

  await a.page.goto(`/s/${spaceId}/questions`);
  await a.page.getByLabel('Ask Sam a question').fill('Is there anything you have not told me yet?');
  await a.page.getByRole('button', { name: 'Ask', exact: true }).click();
  await expect(
    a.page.getByRole('heading', { name: 'Is there anything you have not told me yet?' }),
  ).toBeVisible();
  const question = new URL(a.page.url()).pathname;
  await b.page.goto(question);
  await b.page
    .getByLabel('Your answer', { exact: true })
    .fill('There is one more thing. I will tell you tonight.');
  await b.page.getByRole('button', { name: 'Send answer' }).click();
  await a.page.getByRole('button', { name: 'Ask this again' }).click();
  await a.page.getByRole('button', { name: 'Send to Sam' }).click();
  await expect(a.page.getByRole('heading', { name: 'Asked before' })).toBeVisible();
  const askedAgain = new URL(a.page.url()).pathname;

  await b.page.goto(`/s/${spaceId}/boundaries`);
  await b.page.getByLabel('Add a boundary').fill('I need a day of quiet after a hard talk.');
  await b.page.getByRole('button', { name: 'Add boundary' }).click();
  await a.page.goto(`/s/${spaceId}/boundaries`);
  await a.page.getByLabel('Add a boundary').fill('Tell me if you are going to be late.');
  await a.page.getByRole('button', { name: 'Add boundary' }).click();

  await b.page.goto(`/s/${spaceId}/share`);
  await b.page.getByRole('group', { name: 'Feelings' }).getByLabel('Tired').check();
  await b.page.getByRole('group', { name: 'Feelings' }).getByLabel('Hopeful').check();
  await b.page.getByLabel(/^Affirmation/).fill('You listened last night without fixing anything.');
  await b.page.getByLabel(/^Needs/).fill('A walk together after dinner.');
  await b.page.getByRole('button', { name: 'Share with Alex' }).click();
  await expect(b.page.getByText('Alex has not marked it heard yet.')).toBeVisible();

  const screens: Screen[] = [
    {
      name: 'today',
      path: `/s/${spaceId}`,
      ready: async (page) => {
        await expect(page.getByRole('heading', { name: /^Today/ })).toBeVisible();
        await expect(page.getByText("Sam's latest check-in")).toBeVisible();
        await expect(page.getByRole('link', { name: /Sam shared how they are/ })).toBeVisible();
      },
    },
    {
      name: 'practices',
      path: `/s/${spaceId}/practices`,
      ready: async (page) => {
        await expect(page.getByRole('link', { name: "Read Sam's share" })).toBeVisible();
      },
    },
    {
      name: 'share',
      path: `/s/${spaceId}/share`,
      ready: async (page) => {
        await expect(page.getByRole('button', { name: 'I heard you' })).toBeVisible();
      },
    },
    {
      name: 'break',
      path: `/s/${spaceId}/break`,
      ready: async (page) => {
        await expect(page.getByRole('button', { name: 'Start my break' })).toBeVisible();
      },
    },
    {
      name: 'grounding',
      path: `/s/${spaceId}/too-much`,
      ready: async (page) => {
        await expect(page.getByRole('heading', { name: 'When it is too much' })).toBeVisible();
      },
    },
    {
      name: 'agreements',
      path: `/s/${spaceId}/agreements`,
      ready: async (page) => {
        await expect(page.getByRole('link', { name: 'Evenings together' })).toBeVisible();
      },
    },
    {
      name: 'agreement',
      path: agreement,
      ready: async (page) => {
        await expect(page.getByLabel('What we agree')).toHaveValue(/twenty minutes/);
      },
    },
    {
      name: 'agreement-changed',
      path: changing,
      ready: async (page) => {
        await expect(
          page.getByRole('heading', { name: 'Changed since you accepted' }),
        ).toBeVisible();
      },
    },
    {
      name: 'questions',
      path: `/s/${spaceId}/questions`,
      ready: async (page) => {
        await expect(page.getByRole('heading', { name: 'Questions' })).toBeVisible();
      },
    },
    {
      name: 'question-asked-again',
      path: askedAgain,
      ready: async (page) => {
        await expect(page.getByRole('heading', { name: 'Asked before' })).toBeVisible();
      },
    },
    {
      name: 'boundaries',
      path: `/s/${spaceId}/boundaries`,
      ready: async (page) => {
        await expect(page.getByText('I need a day of quiet after a hard talk.')).toBeVisible();
      },
    },
    {
      name: 'progress',
      path: `/s/${spaceId}/progress`,
      ready: async (page) => {
        await expect(page.getByRole('img', { name: /Line chart of felt safety/ })).toBeVisible();
        // A space started today shows its first week, not eight weeks of empty axis.
        await expect(
          page.getByRole('img', { name: /Line chart of the share of logged days/ }),
        ).toHaveAttribute('data-days', '1');
        // chart.js arrives lazily; wait until it has drawn.
        await expect
          .poll(() =>
            page.evaluate(() => {
              const canvas = document.querySelector('canvas');
              return canvas !== null && canvas.width > 0 && canvas.toDataURL().length > 3000;
            }),
          )
          .toBe(true);
      },
    },
    {
      name: 'settings',
      path: `/s/${spaceId}/settings`,
      ready: async (page) => {
        await expect(page.getByLabel('Your name')).toHaveValue('Alex');
      },
    },
    {
      name: 'export',
      path: `/s/${spaceId}/export`,
      ready: async (page) => {
        await expect(page.getByRole('button', { name: 'Download as Markdown' })).toBeVisible();
      },
    },
  ];
  await visitAll(a.page, screens);

  // Night use: the same screens in dark mode, at phone width.
  await a.page.emulateMedia({ colorScheme: 'dark' });
  await a.page.setViewportSize({ width: 375, height: 812 });
  for (const screen of screens.filter((s) =>
    ['today', 'practices', 'share', 'agreement-changed', 'progress'].includes(s.name),
  )) {
    await a.page.goto(screen.path);
    await screen.ready(a.page);
    await expectAccessible(a.page, `${screen.name} (dark)`);
    await screenshot(a.page, `${screen.name}-375-dark`);
  }

  // The README shows the app as a partner sees it on a phone; refreshed on request only, so a
  // test run does not change a committed file.
  if (!process.env.MEND_UPDATE_SCREENSHOT) return;
  const docs = fileURLToPath(new URL('../../docs/', import.meta.url));
  mkdirSync(docs, { recursive: true });
  copyFileSync(`${artifacts}today-375.png`, `${docs}screenshot.png`);
});

async function visitAll(page: Page, screens: Screen[]): Promise<void> {
  for (const viewport of viewports) {
    await page.setViewportSize({ width: viewport.width, height: viewport.height });
    for (const screen of screens) {
      await page.goto(screen.path);
      await screen.ready(page);
      await expectAccessible(page, `${screen.name} at ${viewport.name}px`);
      // Nothing wider than the screen: no sideways scrolling on a phone.
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow, `${screen.name} at ${viewport.name}px scrolls sideways`).toBeLessThanOrEqual(
        0,
      );
      await screenshot(page, `${screen.name}-${viewport.name}`);
    }
  }
}
