import AxeBuilder from '@axe-core/playwright';
import {
  test as base,
  expect,
  type Browser,
  type BrowserContext,
  type Page,
} from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { e2eDir, sqliteOnly } from './env.mjs';

export const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));

const root = fileURLToPath(new URL('../../', import.meta.url));
const e2eDataDir = joinPath(e2eDir, 'data');

/** Every byte the e2e server keeps on disk (SQLite's database, its journal and WAL). */
export function serverBytes(): Buffer {
  return Buffer.concat(
    readdirSync(e2eDataDir).map((name) => readFileSync(joinPath(e2eDataDir, name))),
  );
}

/** Deletes a space on the running e2e server with the operator command, as an admin would. */
export function deleteSpaceOnServer(spaceId: string): void {
  execFileSync(
    process.execPath,
    [joinPath(root, 'server/dist/admin.js'), 'delete-space', spaceId],
    {
      // The e2e server runs on the embedded SQLite default (see server.mjs), so must this.
      env: { ...sqliteOnly(), MEND_DATA_DIR: e2eDataDir },
      stdio: 'pipe',
    },
  );
}

export interface Partner {
  context: BrowserContext;
  page: Page;
  name: string;
}

export interface Pair {
  a: Partner;
  b: Partner;
  spaceId: string;
  inviteLink: string;
}

const opened: BrowserContext[] = [];
const pageErrors: string[] = [];

/**
 * Playwright's `test`, plus: every partner opened in a test is closed after it (their sockets
 * would otherwise stay in the room for the rest of the run), and an uncaught error in any of
 * their pages fails the test.
 */
export const test = base.extend<{ partnersCleanup: void }>({
  partnersCleanup: [
    // eslint-disable-next-line no-empty-pattern -- Playwright requires an object pattern here.
    async ({}, use) => {
      pageErrors.length = 0;
      await use();
      for (const context of opened.splice(0)) await context.close();
      expect(pageErrors, 'uncaught errors in the pages').toEqual([]);
    },
    { auto: true },
  ],
});

/** Opens a fresh browser profile for one partner (no shared cookies, storage or service worker). */
export async function openPartner(browser: Browser, name: string): Promise<Partner> {
  const context = await browser.newContext();
  opened.push(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  page.on('console', (message) => {
    // A blocked inline script (CSP) leaves a blank page: never acceptable.
    if (message.type() === 'error' && /Content Security Policy/.test(message.text())) {
      pageErrors.push(`${name}: ${message.text()}`);
    }
  });
  return { context, page, name };
}

/** The first partner creates a space and reads the invite link from the invite screen. */
export async function createSpace(
  a: Partner,
  options: { spaceName?: string; role?: 'I was hurt' | 'I am the one repairing' } = {},
): Promise<{ spaceId: string; inviteLink: string }> {
  await a.page.goto('/');
  await a.page.getByLabel('Your name').fill(a.name);
  if (options.spaceName) await a.page.getByLabel('Name for the space').fill(options.spaceName);
  if (options.role) await a.page.getByLabel(options.role).check();
  await a.page.getByRole('button', { name: 'Create our space' }).click();
  await expect(a.page.getByRole('heading', { name: 'Invite your partner' })).toBeVisible();
  const inviteLink = await a.page.getByLabel('Invite link').inputValue();
  const spaceId = /\/join\/([A-Za-z0-9_-]+)#s=/.exec(inviteLink)?.[1];
  if (!spaceId) throw new Error(`unexpected invite link ${inviteLink}`);
  return { spaceId, inviteLink };
}

/** The second partner opens the invite link, writes their name and joins. */
export async function join(b: Partner, inviteLink: string): Promise<void> {
  await b.page.goto(inviteLink);
  await b.page.getByLabel('Your name').fill(b.name);
  await b.page.getByRole('button', { name: 'Join' }).click();
  await expect(b.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
}

export async function createPair(browser: Browser, names = { a: 'Alex', b: 'Sam' }): Promise<Pair> {
  const a = await openPartner(browser, names.a);
  const b = await openPartner(browser, names.b);
  const { spaceId, inviteLink } = await createSpace(a, { spaceName: 'Our repair' });
  await join(b, inviteLink);
  await a.page.goto(`/s/${spaceId}`);
  await expectUpToDate(a.page);
  await expectUpToDate(b.page);
  return { a, b, spaceId, inviteLink };
}

/**
 * Links `device` into the seat `owner` holds, as a person would: a link from the devices page,
 * the same six digits on both screens, "Yes" on the device already in. Ends on the new device's
 * Today, synced.
 */
export async function linkDevice(owner: Partner, device: Partner, spaceId: string): Promise<void> {
  await owner.page.goto(`/s/${spaceId}/devices`);
  await owner.page.getByRole('button', { name: 'Add a device' }).click();
  const link = await owner.page.getByLabel('Link for your other device').inputValue();
  await device.page.goto(link);
  await device.page.getByRole('button', { name: 'Continue' }).click();
  const shown = (await device.page.getByTestId('link-check').textContent())?.trim();
  expect(shown).toMatch(/^\d{3} \d{3}$/);
  await expect(owner.page.getByTestId('link-check')).toHaveText(shown!);
  await owner.page.getByRole('button', { name: 'Yes, the same number' }).click();
  await expect(device.page.getByRole('heading', { name: /^Today/ })).toBeVisible();
  await expectUpToDate(device.page);
}

export async function expectUpToDate(page: Page): Promise<void> {
  await expect(page.getByRole('status').filter({ hasText: 'Up to date' })).toBeVisible();
}

/** Proposes an agreement and returns its page's path. */
export async function proposeAgreement(page: Page, spaceId: string, title: string, body: string) {
  await page.goto(`/s/${spaceId}/agreements`);
  await page.getByRole('button', { name: 'Propose an agreement' }).click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel(/^What we agree/).fill(body);
  await page.getByRole('button', { name: 'Propose', exact: true }).click();
  await expect(page.getByLabel('What we agree')).toHaveValue(body);
  return new URL(page.url()).pathname;
}

/** Types at the end of a field, key by key, as a person would. */
export async function typeAtEnd(page: Page, label: string, text: string): Promise<void> {
  const field = page.getByLabel(label, { exact: true });
  await field.click();
  await page.keyboard.press('ControlOrMeta+End');
  await page.keyboard.type(text);
}

/** Waits until everything typed on this device is committed to IndexedDB. */
export async function expectSavedOnDevice(page: Page): Promise<void> {
  await expect(page.locator('[data-saved="yes"]')).toHaveCount(1);
}

/** No serious or critical accessibility violation on the page as it is now. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  // Legacy mode runs axe in the page itself; the default opens a blank page per scan to gather
  // cross-origin frames' results (Mend has no frames), about a second a scan here, with the
  // same rules run either way: 180 scans of the suite took 3 to 4 minutes of CI.
  const results = await new AxeBuilder({ page }).setLegacyMode(true).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map(
      (v) =>
        `${screen}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    ),
  ).toEqual([]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}${name}.png`, fullPage: true });
}

/** Checks the screen as it is now and captures it at phone and desktop width, and dark at night. */
export async function capture(
  partner: Partner,
  name: string,
  ready: (page: Page) => Promise<void>,
) {
  const page = partner.page;
  for (const { width, height, label } of [
    { width: 375, height: 812, label: '375' },
    { width: 1280, height: 800, label: '1280' },
  ]) {
    await page.setViewportSize({ width, height });
    await ready(page);
    await expectAccessible(page, `${name} at ${label}px`);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow, `${name} at ${label}px scrolls sideways`).toBeLessThanOrEqual(0);
    await screenshot(page, `${name}-${label}`);
  }
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 375, height: 812 });
  await ready(page);
  await expectAccessible(page, `${name} (dark)`);
  await screenshot(page, `${name}-375-dark`);
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Everything this browser keeps for the app (localStorage and every IndexedDB record), as text. */
export function storedText(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const utf8 = new TextDecoder();
    const show = (v: unknown): string => {
      if (ArrayBuffer.isView(v)) {
        return utf8.decode(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      }
      if (v instanceof ArrayBuffer) return utf8.decode(new Uint8Array(v));
      if (Array.isArray(v)) return v.map(show).join('\n');
      if (v !== null && typeof v === 'object') {
        return Object.entries(v)
          .map(([k, x]) => `${k}: ${show(x)}`)
          .join('\n');
      }
      return String(v);
    };
    const parts: string[] = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i)!;
      parts.push(key, localStorage.getItem(key) ?? '');
    }
    for (const { name } of await indexedDB.databases()) {
      if (!name) continue;
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      for (const store of Array.from(db.objectStoreNames)) {
        const all = await new Promise<unknown[]>((resolve, reject) => {
          const request = db.transaction(store, 'readonly').objectStore(store).getAll();
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        parts.push(...all.map(show));
      }
      db.close();
    }
    return parts.join('\n');
  });
}

/** Makes a space the way the app made spaces before: the server writes the names into it. */
export async function makePlainSpace(page: Page, displayName: string, name: string) {
  await page.goto('/');
  return page.evaluate(
    async ({ displayName, name }) => {
      const response = await fetch('/api/spaces', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ displayName, name }),
      });
      const body = (await response.json()) as {
        spaceId: string;
        partnerId: string;
        inviteCode: string;
      };
      localStorage.setItem(
        'mend:spaces',
        JSON.stringify([
          {
            spaceId: body.spaceId,
            partnerId: body.partnerId,
            displayName,
            inviteCode: body.inviteCode,
            addedAt: new Date().toISOString(),
          },
        ]),
      );
      return body;
    },
    { displayName, name },
  );
}

/** Joins it the way the join page did before, without opening it yet (it stays as it was). */
export async function joinPlainSpace(
  page: Page,
  spaceId: string,
  inviteCode: string,
  displayName: string,
) {
  await page.goto('/');
  const status = await page.evaluate(
    async ({ spaceId, inviteCode, displayName }) => {
      const response = await fetch(`/api/spaces/${spaceId}/join`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inviteCode, displayName }),
      });
      if (response.status !== 201) return response.status;
      const body = (await response.json()) as { partnerId: string };
      localStorage.setItem(
        'mend:spaces',
        JSON.stringify([
          { spaceId, partnerId: body.partnerId, displayName, addedAt: new Date().toISOString() },
        ]),
      );
      return response.status;
    },
    { spaceId, inviteCode, displayName },
  );
  expect(status, 'the plaintext join').toBe(201);
}
