import { expect } from '@playwright/test';
import {
  capture,
  createPair,
  expectUpToDate,
  openPartner,
  proposeAgreement,
  test,
} from './support.js';

/**
 * Issue 13: "Without the code and without a device, the partner asks the other to invite them
 * back into their seat (also announced)." Alex loses the only device and has no kit; Sam removes
 * it in an emergency and brings Alex back on a new one.
 */
test('a partner who lost every device and has no kit is brought back by the other, with the same number on both screens', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);
  const path = await proposeAgreement(a.page, spaceId, 'Honest evenings', 'Written before.');
  await b.page.goto(path);
  await expect(b.page.getByLabel('What we agree')).toHaveValue('Written before.');
  await a.context.close();

  // Sam removes the lost phone; only then can Alex be brought back.
  await b.page.goto(`/s/${spaceId}/devices`);
  await expect(b.page.getByRole('heading', { name: 'Bring Alex back' })).toHaveCount(0);
  const alexs = b.page.getByRole('region', { name: "Alex's devices" });
  await alexs.getByRole('button', { name: /^Remove in an emergency…/ }).click();
  await b.page.getByRole('button', { name: 'Yes, remove it' }).click();
  await expect(b.page.getByText('Removed. The space has new keys.')).toBeVisible();
  await capture(b, 'devices-bring-back', (page) =>
    expect(page.getByRole('button', { name: 'Bring Alex back' })).toBeVisible(),
  );
  await b.page.getByRole('button', { name: 'Bring Alex back' }).click();
  const link = await b.page.getByLabel("Link for Alex's new device").inputValue();

  const fresh = await openPartner(browser, 'Alex on a new phone');
  await fresh.page.goto(link);
  await fresh.page.getByRole('button', { name: 'Continue' }).click();
  const shown = (await fresh.page.getByTestId('link-check').textContent())?.trim();
  await expect(b.page.getByTestId('link-check')).toHaveText(shown!);
  await b.page.getByRole('button', { name: 'Yes, the same number' }).click();

  await expect(fresh.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
  await expectUpToDate(fresh.page);
  await fresh.page.goto(path);
  await expect(fresh.page.getByLabel('What we agree')).toHaveValue('Written before.');
  const after = await proposeAgreement(fresh.page, spaceId, 'Back again', 'Alex, back.');
  await b.page.goto(after);
  await expect(b.page.getByLabel('What we agree')).toHaveValue('Alex, back.');
  await fresh.page.goto(`/s/${spaceId}/devices`);
  await expect(
    fresh.page.getByRole('region', { name: 'Your devices' }).getByText(/brought back by Sam/),
  ).toBeVisible();
});
