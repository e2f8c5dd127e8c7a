import { expect } from '@playwright/test';
import { formatRecoveryCode, newRecoveryCode } from '@mend/sealed';
import {
  capture,
  createPair,
  expectUpToDate,
  openPartner,
  proposeAgreement,
  test,
} from './support.js';

/**
 * Issue 13, "Recovery kit": Alex saves a kit, loses the only device, and takes the seat back in a
 * fresh browser with nothing but the code; Sam is told at each step.
 */
test('a recovery kit brings a partner back on a fresh device with only the code, announced to both; typos and wrong codes are refused', async ({
  browser,
}) => {
  const { a, b, spaceId } = await createPair(browser);

  // Offered on Today, optional; made on the devices page.
  await expect(
    a.page.getByRole('heading', { name: 'A recovery kit, if you want one' }),
  ).toBeVisible();
  await a.page.getByRole('link', { name: 'Make a recovery kit' }).click();
  await a.page.getByRole('button', { name: 'Make a recovery kit' }).click();
  const code = (await a.page.getByTestId('recovery-code').textContent())?.trim() ?? '';
  expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$/);
  await capture(a, 'recovery-kit', (page) =>
    expect(page.getByTestId('recovery-code')).toBeVisible(),
  );
  await a.page.getByRole('button', { name: 'I have saved it' }).click();
  await expect(a.page.getByText('You have a recovery kit.')).toBeVisible();
  await b.page.goto(`/s/${spaceId}`);
  await expect(b.page.getByText('Alex made a recovery kit.')).toBeVisible();

  const path = await proposeAgreement(a.page, spaceId, 'Honest evenings', 'Written before.');
  await b.page.goto(path);
  await expect(b.page.getByLabel('What we agree')).toHaveValue('Written before.');
  // Every device of Alex's is lost.
  await a.context.close();

  const fresh = await openPartner(browser, 'Alex on a new phone');
  await fresh.page.goto(`/recover/${spaceId}`);
  const field = fresh.page.getByLabel('Recovery code');
  // A typo is caught on the device, before any slow work or a try at the server.
  await field.fill(code.slice(0, -1) + (code.endsWith('0') ? '1' : '0'));
  await fresh.page.getByRole('button', { name: 'Use this code' }).click();
  await expect(fresh.page.getByRole('alert')).toContainText('This code has a mistake in it');
  // A well-formed code of another kit does not open this space.
  await field.fill(formatRecoveryCode(newRecoveryCode()));
  await fresh.page.getByRole('button', { name: 'Use this code' }).click();
  await expect(fresh.page.getByRole('alert')).toContainText('This code does not open this space');
  await capture(fresh, 'recovery-wrong-code', (page) =>
    expect(page.getByRole('alert')).toBeVisible(),
  );

  await field.fill(code.toLowerCase());
  await fresh.page.getByRole('button', { name: 'Use this code' }).click();
  await expect(fresh.page.getByRole('heading', { name: /^Today/ })).toBeVisible({
    timeout: 60_000,
  });
  await expectUpToDate(fresh.page);
  await fresh.page.goto(path);
  await expect(fresh.page.getByLabel('What we agree')).toHaveValue('Written before.');
  const after = await proposeAgreement(fresh.page, spaceId, 'Back again', 'From the new phone.');
  await b.page.goto(after);
  await expect(b.page.getByLabel('What we agree')).toHaveValue('From the new phone.');

  // Sam is told the kit was used, and sees the new device and where it came from.
  await b.page.goto(`/s/${spaceId}`);
  await expect(b.page.getByText(/^Alex used their recovery kit on a new device/)).toBeVisible();
  await b.page.goto(`/s/${spaceId}/devices`);
  await expect(
    b.page.getByRole('region', { name: "Alex's devices" }).getByText(/added with the recovery kit/),
  ).toBeVisible();
  // The kit is used up: the new device is offered a new one.
  await fresh.page.goto(`/s/${spaceId}/devices`);
  await expect(fresh.page.getByRole('button', { name: 'Make a recovery kit' })).toBeVisible();
});
