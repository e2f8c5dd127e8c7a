import { expect } from '@playwright/test';
import { gzipSync } from 'node:zlib';
import { createPair, test } from './support.js';

const BUDGET_BYTES = 100 * 1024;

test('the first load of a space ships at most 100 KB of JavaScript, gzipped; charts come later', async ({
  browser,
  request,
}) => {
  const { a, spaceId } = await createPair(browser);
  const fresh = await browser.newContext({ storageState: await a.context.storageState() });
  const page = await fresh.newPage();
  const scripts = new Set<string>();
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.add(r.url());
  });
  await page.goto(`/s/${spaceId}`);
  await expect(page.getByRole('heading', { name: /^Today/ })).toBeVisible();

  let total = 0;
  let chartLibraryLoaded = false;
  for (const url of scripts) {
    const body = await (await request.get(url)).body();
    total += gzipSync(body).length;
    // A message only chart.js contains: the chart library must not be part of the first load.
    if (body.includes('Canvas is already in use')) chartLibraryLoaded = true;
  }
  test.info().annotations.push({ type: 'first-load-js-gzip', description: `${total} bytes` });
  console.log(`first load of Today: ${scripts.size} scripts, ${total} bytes of JavaScript gzipped`);
  expect(scripts.size).toBeGreaterThan(0);
  expect(chartLibraryLoaded).toBe(false);
  expect(total).toBeLessThanOrEqual(BUDGET_BYTES);
  await fresh.close();
});
