import { expect } from '@playwright/test';
import { gzipSync } from 'node:zlib';
import { createPair, expectUpToDate, test } from './support.js';

const BUDGET_BYTES = 100 * 1024;
/**
 * Everything a first visit fetches until synced, the sealed client included: a tripwire for
 * growth, not the goal (that is BUDGET_BYTES). Raised from 150 KiB when private
 * check-ins (their form and reader on Today, about 2.3 KB) and the conversion of spaces made
 * before (0.7 KB) came in, and from 155 KiB when device names and Today's notice of devices
 * added or removed came in (about 3.6 KB, all loaded after the space is shown), and from 160 KiB
 * when removing a device came in (the replica's epoch rules, a device catching up across a key
 * change through its epoch boxes, Today's words for removals and recovery kits: about 7 KB),
 * and from 168 KiB when a device's own statements came to be signed by the platform in one
 * queue with its changes and its sends came to keep to the server's rate (about 0.1 KB, with
 * 63 bytes left before it), and from 169 KiB when the device's signing key came to be held by
 * the platform alone (reading the stored key back and checking it, holding what waits for a
 * signature when the page goes: about 1 KB, with 0.6 KB left before it); docs/benchmarks.md
 * says so.
 */
const WITH_SYNC_BUDGET_BYTES = 170 * 1024;

test('the first load of a space ships at most 100 KB of JavaScript, gzipped; charts come later', async ({
  browser,
  request,
}) => {
  const { a, spaceId } = await createPair(browser);
  // The same profile (a sealed space's keys are in its IndexedDB and cannot be copied out), with
  // its service worker gone and its HTTP cache emptied and off: the load of a first visit.
  const page = await a.context.newPage();
  await page.goto('/too-much');
  await page.evaluate(async () => {
    for (const registration of await navigator.serviceWorker.getRegistrations()) {
      await registration.unregister();
    }
  });
  const cdp = await a.context.newCDPSession(page);
  await cdp.send('Network.clearBrowserCache');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const scripts = new Set<string>();
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.add(r.url());
  });
  await page.goto(`/s/${spaceId}`);
  await expect(page.getByRole('heading', { name: /^Today/ })).toBeVisible();
  await expectUpToDate(page);

  // What a person waits for before their space is on screen: every script fetched before the
  // local copy was in the document. The sealed client that checks, decrypts and syncs comes
  // after (sealedSync.ts), as the charts do; the whole is held to its own, larger budget.
  const beforeShown = await page.evaluate(() => {
    const shown = performance.getEntriesByName('mend:local-copy-loaded')[0];
    if (!shown) return null;
    return performance
      .getEntriesByType('resource')
      .filter((e) => e.name.endsWith('.js') && e.startTime < shown.startTime)
      .map((e) => e.name);
  });
  expect(beforeShown, 'the space was shown from its local copy').not.toBeNull();

  const sizes = new Map<string, { gzip: number; charts: boolean }>();
  for (const url of scripts) {
    const body = await (await request.get(url)).body();
    // A message only chart.js contains: the chart library must not be part of the first load.
    sizes.set(url, {
      gzip: gzipSync(body).length,
      charts: body.includes('Canvas is already in use'),
    });
  }
  const sum = (urls: Iterable<string>) =>
    [...urls].reduce((total, url) => total + (sizes.get(url)?.gzip ?? 0), 0);
  const firstLoad = sum(beforeShown ?? []);
  const whole = sum(scripts);
  test
    .info()
    .annotations.push(
      { type: 'first-load-js-gzip', description: `${firstLoad} bytes` },
      { type: 'with-sync-js-gzip', description: `${whole} bytes` },
    );
  console.log(
    `first load of Today: ${beforeShown?.length} scripts, ${firstLoad} bytes of JavaScript gzipped before the space is shown; ${scripts.size} scripts, ${whole} bytes once synced`,
  );
  // MEND_BUDGET_LIST=1 lists every script, to see what grew.
  if (process.env['MEND_BUDGET_LIST']) {
    const shown = new Set(beforeShown);
    for (const [url, { gzip }] of [...sizes].sort((x, y) => y[1].gzip - x[1].gzip)) {
      console.log(`${shown.has(url) ? 'first' : 'later'} ${gzip} ${new URL(url).pathname}`);
    }
  }
  expect(beforeShown?.length).toBeGreaterThan(0);
  expect([...sizes.values()].some((s) => s.charts)).toBe(false);
  expect(firstLoad).toBeLessThanOrEqual(BUDGET_BYTES);
  expect(whole).toBeLessThanOrEqual(WITH_SYNC_BUDGET_BYTES);
});
