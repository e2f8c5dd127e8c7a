/**
 * Rules versions against the real server (docs/protocol.md, "Rules versions"): a device whose
 * Mend knows newer rules states them in the log; the partner's older Mend stops there, keeps
 * what is written meanwhile, and goes on once updated, to the same document as everyone.
 */
import { checkRemoteUpdate, getPartner, setDisplayName } from '@mend/model';
import type { RulesBook } from '@mend/sealed';
import { afterEach, describe, expect, it } from 'vitest';
import { reloadedDoc, sameSeq, SealedPage, sealedCouple } from '../support/sealedClient.js';
import { startServer, type MendServer } from '../support/server.js';

const servers: MendServer[] = [];
const pages: SealedPage[] = [];

afterEach(async () => {
  for (const page of pages.splice(0)) page.close();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
});

/** A Mend one release ahead: version 3 of the rules (stated once caught up), judging as 1 does. */
const nextRelease: RulesBook = {
  latest: 3,
  tightened: 3,
  judge: (_version, log, update, author) => checkRemoteUpdate(log, update, author),
};

describe('rules versions through the real server', () => {
  it('an older Mend stops at newer rules, keeps what it writes, and goes on once updated', async () => {
    const s = await startServer();
    servers.push(s);
    const { alexPage, samPage } = await sealedCouple(s, { pages });
    const alex = alexPage.partnerId;
    const sam = samPage.partnerId;

    // Sam's Mend is updated: reopened, it states version 3 once it has caught up.
    samPage.close();
    const newerSam = new SealedPage(s, samPage.device, {
      doc: reloadedDoc(samPage.doc),
      rules: nextRelease,
    });
    pages.push(newerSam);
    await newerSam.until(() => newerSam.replica.rulesVersion === 3, 'its statement taken in');

    // Alex's older Mend stops there, says so, and keeps its socket closed.
    await alexPage.until(() => alexPage.paused.length > 0, 'stopped at version 3');
    expect(alexPage.paused).toEqual([3]);
    expect(alexPage.replica.since).toBe(newerSam.replica.since);
    expect(alexPage.provider.status.kind).toBe('disconnected');
    setDisplayName(alexPage.doc, { partnerId: alex, displayName: 'Alex, written while stopped' });
    setDisplayName(newerSam.doc, { partnerId: sam, displayName: 'Sam, meanwhile' });
    await newerSam.settled();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(alexPage.provider.waiting).toBeGreaterThan(0);
    expect(getPartner(newerSam.doc, alex)?.displayName).toBe('Alex');
    expect(getPartner(alexPage.doc, sam)?.displayName).toBe('Sam');
    expect(alexPage.replica.setAside).toEqual([]);

    // Alex's Mend is updated too: it goes on from where it stopped, and what waited goes out.
    alexPage.close();
    const newerAlex = new SealedPage(s, alexPage.device, {
      doc: reloadedDoc(alexPage.doc),
      rules: nextRelease,
    });
    pages.push(newerAlex);
    await newerAlex.settled();
    await sameSeq([newerAlex, newerSam]);
    for (const page of [newerAlex, newerSam]) {
      expect(getPartner(page.doc, alex)?.displayName).toBe('Alex, written while stopped');
      expect(getPartner(page.doc, sam)?.displayName).toBe('Sam, meanwhile');
      expect(page.replica.rulesVersion).toBe(3);
      expect(page.replica.setAside).toEqual([]);
      expect(page.tampers).toEqual([]);
      expect(page.paused).toEqual([]);
    }
  });
});
