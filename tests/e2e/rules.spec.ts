import { expect } from '@playwright/test';
import { addPartner, checkRemoteUpdate } from '@mend/model';
import type { SpaceId } from '@mend/protocol';
import { joinSealedSpace, type RulesBook } from '@mend/sealed';
import { newDevice, SealedPage } from '../support/sealedClient.js';
import { e2ePort } from './env.mjs';
import { createSpace, openPartner, test } from './support.js';

/**
 * A partner's Mend one release ahead moves the space on to newer rules (docs/protocol.md,
 * "Rules versions"): this browser's Mend, which knows only the rules of this build, stops
 * syncing there, says in plain words that it needs an update, and keeps what is written.
 */
const nextRelease: RulesBook = {
  latest: 3,
  tightened: 3,
  judge: (_version, log, update, author) => checkRemoteUpdate(log, update, author),
};

test('a partner’s newer Mend changes the rules: this one asks to be updated and keeps what is written', async ({
  browser,
}) => {
  const a = await openPartner(browser, 'Philippa');
  const { spaceId, inviteLink } = await createSpace(a);

  // The partner joins from a Node device whose Mend knows version 3 of the rules.
  const server = { url: `http://127.0.0.1:${e2ePort}`, wsUrl: `ws://127.0.0.1:${e2ePort}` };
  const fragment = new URLSearchParams(new URL(inviteLink).hash.slice(1));
  const joined = await joinSealedSpace(spaceId as SpaceId, fragment.get('s') ?? '', {
    baseUrl: server.url,
  });
  const newer = new SealedPage(server, newDevice('Bartholomew', joined), { rules: nextRelease });
  try {
    await newer.until(() => newer.provider.synced, 'the first sync');
    addPartner(newer.doc, {
      id: joined.partnerId,
      displayName: 'Bartholomew',
      joinedAt: Date.now(),
      color: '#3355aa',
    });
    await newer.until(() => newer.replica.rulesVersion === 3, 'its statement taken in');

    await a.page.goto(`/s/${spaceId}/boundaries`);
    await expect(
      a.page.getByRole('heading', { name: 'Mend needs an update on this device' }),
    ).toBeVisible();
    await expect(a.page.getByText(/what you write here stays on this device/)).toBeVisible();
    await expect(a.page.getByRole('status').filter({ hasText: 'Needs an update' })).toBeVisible();

    // What she writes now waits on her device, and is still there after a reload (the same
    // Mend: it asks again).
    await a.page.getByLabel('Add a boundary').fill('No phones at dinner.');
    await a.page.getByRole('button', { name: 'Add boundary' }).click();
    await expect(a.page.getByText(/^· 1 change not sent yet$/)).toBeVisible();
    await a.page.getByRole('button', { name: 'Update now' }).click();
    await expect(
      a.page.getByRole('heading', { name: 'Mend needs an update on this device' }),
    ).toBeVisible();
    await expect(a.page.getByText('No phones at dinner.')).toBeVisible();
    await expect(a.page.getByText(/^· 1 change not sent yet$/)).toBeVisible();

    // Removing Mend from this device now would lose the boundary: it says so before she agrees.
    await a.page.goto(`/s/${spaceId}/settings`);
    await a.page.getByRole('button', { name: 'Remove Mend from this device…' }).click();
    await expect(
      a.page.getByText(
        '1 change made here is not sent yet. If you clear this device now, it is lost. Once Mend is updated, removing Mend sends it first.',
      ),
    ).toBeVisible();
    await a.page.getByRole('button', { name: 'Keep it' }).click();
  } finally {
    newer.close();
  }
});
