// Scenario 3, in Chromium: partner B's browser joins through the invite link, receives the
// five-year space, then opens it again while offline. Measured: from navigation start to the
// Today screen showing the partner's latest check-in, read from IndexedDB.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as Y from 'yjs';
import { createClient, sleep, withTimeout } from '../lib/clients.mjs';
import { until } from '../lib/docs.mjs';
import { buildDir, weigh } from './clientWeight.mjs';
import { buildFiveYears, sendWeekly } from '../lib/fiveYears.mjs';
import { topFunctions } from '../lib/profile.mjs';
import { round } from '../lib/stats.mjs';
import { postJson, repoRoot, scratchDir, startTarget } from '../lib/targets.mjs';
import { chromiumArgs, chromiumPath } from '../../../scripts/chromium.mjs';

/** Runs in the page: ms since navigation start once Today shows the partner's latest check-in. */
function todayShowsPartnerCheckin() {
  const heading = document.getElementById('partner-checkin');
  const section = heading?.closest('section');
  if (!section || /No check-in yet/.test(section.textContent ?? '')) return false;
  return performance.now();
}

/** What Chromium fetched, weighed as scenario 6 weighs it; files: how many. */
function weight(urls) {
  const built = [...urls].filter((url) => existsSync(path.join(buildDir, url)));
  const { files, bytes, gzipBytes } = weigh(built);
  return { files: files.length, bytes, gzipBytes };
}

export async function browserOpen({ rounds, log }) {
  if (!existsSync(chromiumPath))
    return { available: false, reason: `${chromiumPath} is not installed` };
  if (!existsSync(path.join(repoRoot, 'apps/web/build/200.html'))) {
    return { available: false, reason: 'the web app is not built (apps/web/build/200.html)' };
  }
  const { chromium } = await import('@playwright/test');
  const mend = await startTarget('mend', { dataDir: scratchDir('mend-browser') });
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  let a;
  const step = { name: 'start' };
  try {
    step.name = 'create the space (partner A, over HTTP)';
    const created = await postJson(
      `${mend.http}/api/spaces`,
      { displayName: 'Sam', name: 'Our space' },
      201,
    );
    const context = await browser.newContext({ baseURL: mend.http });
    const page = await context.newPage();
    const js = new Set();
    const css = new Set();
    const record = (request) => {
      const url = new URL(request.url());
      if (url.origin !== mend.http) return;
      if (request.resourceType() === 'script') js.add(url.pathname);
      if (request.resourceType() === 'stylesheet') css.add(url.pathname);
    };
    page.on('request', record);

    step.name = 'join through the invite link (partner B, in Chromium)';
    await page.goto(`/join/${created.spaceId}#code=${created.inviteCode}`);
    await page.getByLabel('Your name').fill('Alex');
    await page.getByRole('button', { name: 'Join' }).click();
    await page.waitForURL(`**/s/${created.spaceId}`, { timeout: 30_000 });
    await page.getByRole('heading', { name: /Today/ }).waitFor({ timeout: 30_000 });
    page.off('request', record);
    const firstLoad = { js: weight(js), css: weight(css), jsUrls: [...js], cssUrls: [...css] };

    step.name = "send five years of history from partner A's device";
    a = createClient(mend, created.spaceId, { token: created.token });
    await withTimeout(a.ready(), 30_000, 'partner A sync');
    await withTimeout(
      until([a.doc], () => a.doc.getMap('partners').size === 2),
      30_000,
      'partner B in the document',
    );
    const built = buildFiveYears({ base: Y.encodeStateAsUpdate(a.doc) });
    await sendWeekly(a.doc, built.weekly);
    step.name = 'wait for the browser to show the five-year space online';
    await page.waitForFunction(todayShowsPartnerCheckin, null, { timeout: 120_000, polling: 100 });
    // y-indexeddb writes as updates arrive; give its last transactions time to commit.
    await sleep(3000);
    a.destroy();
    a = null;

    step.name = 'go offline (server stopped, network off) and reopen';
    await mend.stop();
    await context.setOffline(true);
    const results = [];
    for (let r = 0; r < rounds; r++) {
      await page.goto(`/s/${created.spaceId}`, { waitUntil: 'commit', timeout: 30_000 });
      const handle = await page.waitForFunction(todayShowsPartnerCheckin, null, {
        timeout: 60_000,
        polling: 'raf',
      });
      const todayRenderedMs = await handle.jsonValue();
      results.push({ round: r + 1, todayRenderedMs: round(todayRenderedMs, 1) });
      log?.(`chromium offline open r${r + 1}: Today rendered at ${round(todayRenderedMs, 0)} ms`);
    }
    // One more open with Chromium's sampling profiler on, to see where that time goes.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
    await cdp.send('Profiler.start');
    await page.goto(`/s/${created.spaceId}`, { waitUntil: 'commit', timeout: 30_000 });
    await page.waitForFunction(todayShowsPartnerCheckin, null, { timeout: 60_000, polling: 'raf' });
    const { profile } = await cdp.send('Profiler.stop');
    const profileFile = path.join(scratchDir('chromium-profile'), 'offline-open.cpuprofile');
    writeFileSync(profileFile, JSON.stringify(profile));
    await context.close();
    return {
      available: true,
      encodedStateBytes: built.update.byteLength,
      firstLoad,
      rounds: results,
      offlineOpenProfile: topFunctions(profileFile, 20),
    };
  } catch (error) {
    return {
      available: false,
      reason: `failed at "${step.name}": ${String(error?.message ?? error).split('\n')[0]}`,
    };
  } finally {
    a?.destroy();
    await browser.close();
    await mend.stop();
  }
}
