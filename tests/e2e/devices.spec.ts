import { expect } from '@playwright/test';
import {
  capture,
  createPair,
  expectUpToDate,
  openPartner,
  proposeAgreement,
  test,
} from './support.js';

/** Issue 13, "Link a device": Alex adds a laptop to the seat the phone holds. */

test('a partner adds a second device with a link: both screens show one number, the new device opens the space and writes as them, and both partners see it listed', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  const laptop = await openPartner(browser, 'Alex on the laptop');

  await a.page.goto(`/s/${spaceId}/settings`);
  await a.page.getByRole('link', { name: 'See devices, or add one' }).click();
  await expect(a.page.getByRole('heading', { name: 'Devices', exact: true })).toBeVisible();
  await a.page.getByRole('button', { name: 'Add a device' }).click();
  const link = await a.page.getByLabel('Link for your other device').inputValue();
  expect(link).toContain(`/link/${spaceId}#l=`);

  await laptop.page.goto(link);
  await laptop.page.getByRole('button', { name: 'Continue' }).click();
  const shown = await laptop.page.getByTestId('link-check').textContent();
  expect(shown?.trim()).toMatch(/^\d{3} \d{3}$/);
  await expect(a.page.getByTestId('link-check')).toHaveText(shown!.trim());
  await capture(a, 'devices-compare', (page) =>
    expect(page.getByRole('button', { name: 'Yes, the same number' })).toBeVisible(),
  );
  await a.page.getByRole('button', { name: 'Yes, the same number' }).click();

  // The laptop opens the space with the seat's keys and writes as Alex.
  await expect(laptop.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
  await expectUpToDate(laptop.page);
  const path = await proposeAgreement(
    laptop.page,
    spaceId,
    'Phone-free dinners',
    'Written on the laptop.',
  );
  await b.page.goto(path);
  await expect(b.page.getByLabel('What we agree')).toHaveValue('Written on the laptop.');

  // Nothing joins silently: Sam sees both of Alex's devices, and how the second came in.
  await b.page.goto(`/s/${spaceId}/devices`);
  const alexs = b.page.getByRole('region', { name: "Alex's devices" });
  await expect(alexs.getByRole('listitem')).toHaveCount(2);
  // Each device named itself once it was in: a desktop browser is a computer.
  await expect(alexs.getByText(/added with a link from Alex's computer/)).toBeVisible();

  // Nor does it join unannounced: Sam's Today says Alex added a device, with its name.
  await b.page.goto(`/s/${spaceId}`);
  const notice = b.page.getByRole('region', { name: 'Devices' });
  await expect(notice).toContainText("Alex added a device (Alex's computer) today.");
  await capture(b, 'today-device-added', (page) =>
    expect(page.getByRole('region', { name: 'Devices' })).toBeVisible(),
  );

  // Alex names the laptop from the phone; the laptop and Sam read the new name.
  await a.page.goto(`/s/${spaceId}/devices`);
  const alexOnPhone = a.page.getByRole('region', { name: 'Your devices' });
  await alexOnPhone
    .getByRole('listitem')
    .nth(1)
    .getByRole('button', { name: "Rename Alex's computer" })
    .click();
  await a.page.getByLabel("Name of Alex's computer").fill("  Alex's laptop ");
  await a.page.getByRole('button', { name: 'Save' }).click();
  await expect(alexOnPhone.getByRole('listitem').nth(1)).toContainText("Alex's laptop");
  await capture(a, 'devices-named', (page) =>
    expect(page.getByRole('region', { name: 'Your devices' })).toContainText("Alex's laptop"),
  );
  await laptop.page.goto(`/s/${spaceId}/devices`);
  const laptopItem = laptop.page
    .getByRole('region', { name: 'Your devices' })
    .getByRole('listitem')
    .nth(1);
  await expect(laptopItem).toContainText("Alex's laptop");
  await expect(laptopItem.getByText('This device')).toBeVisible();
  await b.page.goto(`/s/${spaceId}/devices`);
  await expect(alexs.getByRole('listitem').nth(1)).toContainText("Alex's laptop");
  await expect(alexs.getByRole('button', { name: /^Rename/ })).toHaveCount(0);
  await b.page.goto(`/s/${spaceId}`);
  await expect(notice).toContainText("Alex added a device (Alex's laptop) today.");
  // Seen is remembered on Sam's device: after a reload the notice stays gone.
  await notice.getByRole('button', { name: "Seen: Alex's laptop" }).click();
  await expect(notice).toBeHidden();
  await b.page.reload();
  await expect(b.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
  await expectUpToDate(b.page);
  await expect(b.page.getByRole('region', { name: 'Devices' })).toBeHidden();
  // The phone that linked the laptop does not announce what its person just did on it.
  await a.page.goto(`/s/${spaceId}`);
  await expectUpToDate(a.page);
  await expect(a.page.getByRole('region', { name: 'Devices' })).toBeHidden();
  // One safety code on every device of both partners.
  await b.page.goto(`/s/${spaceId}/settings`);
  await laptop.page.goto(`/s/${spaceId}/settings`);
  const code = await b.page.getByTestId('safety-code').textContent();
  expect(code).toMatch(/^\d{5} \d{5}$/);
  await expect(laptop.page.getByTestId('safety-code')).toHaveText(code!);
  await laptop.page.goto(`/s/${spaceId}/devices`);
  const mine = laptop.page.getByRole('region', { name: 'Your devices' });
  await expect(mine.getByText('This device')).toBeVisible();
  await capture(laptop, 'devices-list', (page) =>
    expect(page.getByRole('region', { name: 'Your devices' }).getByRole('listitem')).toHaveCount(2),
  );
});

test('a link whose numbers differ is ended on the device already in, and the other device is told it no longer works', async ({
  browser,
}) => {
  const { a, spaceId } = await createPair(browser);
  const stranger = await openPartner(browser, 'Kim');
  await a.page.goto(`/s/${spaceId}/devices`);
  await a.page.getByRole('button', { name: 'Add a device' }).click();
  const link = await a.page.getByLabel('Link for your other device').inputValue();
  await stranger.page.goto(link);
  await stranger.page.getByRole('button', { name: 'Continue' }).click();
  await expect(a.page.getByTestId('link-check')).toBeVisible();
  await a.page.getByRole('button', { name: 'No, end this link' }).click();
  await expect(stranger.page.getByRole('alert')).toContainText('This link no longer works');
  await stranger.page.goto(`/s/${spaceId}`);
  await expect(
    stranger.page.getByRole('heading', { name: 'This device is not part of this space' }),
  ).toBeVisible();
  await a.page.goto(`/s/${spaceId}/devices`);
  await expect(
    a.page.getByRole('region', { name: 'Your devices' }).getByRole('listitem'),
  ).toHaveCount(1);
});
