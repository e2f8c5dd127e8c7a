import {
  acceptAgreement,
  addBoundary,
  addPartner,
  answerQuestion,
  askQuestion,
  callBreak,
  checkIn,
  endBreak,
  editAgreement,
  getAgreement,
  initSpace,
  listAgreements,
  listShares,
  logKeep,
  markShareHeard,
  proposeAgreement,
  saveShare,
  addAppreciation,
  addRevealFollowUp,
  checkInPrivately,
  meetingIssue,
  openReveal,
  repairFeelingsAnswer,
  setRepairNextTime,
  setWentWell,
  startMeeting,
  startRepair,
  type CheckinSnapshot,
  type IsoDate,
  type PartnerId,
  type RevealId,
} from '@mend/model';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { exportMarkdown } from './exportMarkdown.js';
import { answerHidden, publishKey } from './testPair.js';

const alex = 'partner_alex_0000000' as PartnerId;
const sam = 'partner_sam_00000000' as PartnerId;
const at = Date.UTC(2026, 10, 20, 20, 0);

function space(): Y.Doc {
  const doc = new Y.Doc();
  initSpace(doc, { name: 'Our repair', createdAt: at });
  addPartner(doc, { id: alex, displayName: 'Alex', joinedAt: at, color: '#336699' });
  addPartner(doc, { id: sam, displayName: 'Sam', joinedAt: at + 1, color: '#993366' });
  const agreementId = proposeAgreement(doc, {
    title: 'Evenings',
    body: 'We talk every evening.\nPhones stay in the kitchen.',
    by: alex,
    at,
  });
  const fingerprint = getAgreement(doc, agreementId)!.fingerprint;
  acceptAgreement(doc, { agreementId, partnerId: alex, fingerprint, at });
  acceptAgreement(doc, { agreementId, partnerId: sam, fingerprint, at });
  logKeep(doc, { agreementId, partnerId: sam, date: '2026-11-20', value: 'missed', at });
  logKeep(doc, { agreementId, partnerId: sam, date: '2026-11-20', value: 'kept', at: at + 5 });
  const questionId = askQuestion(doc, { text: 'Where were you?', by: alex, at });
  answerQuestion(doc, { questionId, text: 'At work | late.', by: sam, at: at + 10 });
  checkIn(doc, {
    partnerId: alex,
    date: '2026-11-20',
    safety: 3,
    state: 'alert',
    note: 'Hard\nday',
    at,
  });
  addBoundary(doc, { text: 'Tell me when you are late.', owner: alex, at });
  return doc;
}

const formatTime = (t: number) => new Date(t).toISOString().slice(0, 10);

describe('the Markdown export', () => {
  it('contains every chosen section with who said what', () => {
    const md = exportMarkdown(space(), {
      sections: ['agreements', 'questions', 'checkins', 'boundaries'],
      me: alex,
      formatTime,
    });
    expect(md).toContain('# Our repair');
    expect(md).toContain('### Evenings');
    expect(md).toContain('> We talk every evening.\n> Phones stay in the kitchen.');
    expect(md).toContain('Current wording accepted by: Alex, Sam.');
    expect(md).toContain('| 2026-11-20 | Sam | Kept (first logged: Missed) |');
    expect(md).toContain('**Sam** answered');
    expect(md).toContain('| 2026-11-20 | Alex | 3 | On alert | Hard day |');
    expect(md).toContain("Alex's boundary");
  });

  it('leaves out the sections that were not chosen', () => {
    const md = exportMarkdown(space(), { sections: ['checkins'], me: alex, formatTime });
    expect(md).toContain('## Check-ins');
    expect(md).not.toContain('## Agreements');
    expect(md).not.toContain('Where were you?');
    expect(md).not.toContain('Tell me when you are late.');
  });

  it('keeps a table intact when a note contains a pipe or a line break', () => {
    const md = exportMarkdown(space(), {
      sections: ['questions', 'checkins'],
      me: alex,
      formatTime,
    });
    expect(md).toContain('> At work | late.');
    expect(md).not.toMatch(/\| Hard\nday/);
  });
});

describe('an agreement changed after both accepted it', () => {
  it('is exported with the wording both accepted, the change after it, and no "you"', () => {
    const doc = space();
    const [agreement] = listAgreements(doc);
    editAgreement(doc, {
      agreementId: agreement!.id,
      title: 'Our evenings',
      body: 'We talk every evening, unless one of us is away.',
      by: sam,
      at: at + 20,
    });
    const markdown = exportMarkdown(doc, {
      sections: ['agreements'],
      me: alex,
      formatTime: (t) => new Date(t).toISOString(),
    });
    expect(markdown).not.toMatch(/\byou\b/i);
    expect(markdown).toContain('Status: Agreed; a change to it is not yet accepted by both.');
    const accepted = markdown.indexOf('Wording both accepted:');
    const proposed = markdown.indexOf('Proposed change, not yet accepted by both:');
    expect(accepted).toBeGreaterThan(0);
    expect(proposed).toBeGreaterThan(accepted);
    expect(markdown.slice(accepted, proposed)).toContain('> Phones stay in the kitchen.');
    expect(markdown.slice(proposed)).toContain(
      '> We talk every evening, unless one of us is away.',
    );
    // The agreement is named by the title in force; the proposed title is part of the change.
    expect(markdown).toContain('### Evenings\n');
    expect(markdown.slice(proposed)).toContain('> Our evenings');
  });
});

describe('the practices in the export', () => {
  it('lists daily shares by day with who heard them, and breaks with how each ended, without "you"', () => {
    const doc = space();
    const key = saveShare(doc, {
      partnerId: sam,
      date: '2026-11-20',
      feelings: ['ashamed', 'hopeful'],
      feelingWords: 'Heavy | but lighter.',
      ownership: 'I was defensive at dinner.',
      at,
    });
    saveShare(doc, { partnerId: alex, date: '2026-11-20', feelings: ['tired'], at: at + 1 });
    const fingerprint = exportShareFingerprint(doc, key);
    markShareHeard(doc, { shareKey: key, by: alex, fingerprint, at: at + 60_000 });
    const early = callBreak(doc, { by: alex, minutes: 20, date: '2026-11-20', at });
    endBreak(doc, { breakId: early.id, by: alex, at: at + 5 * 60_000 });
    callBreak(doc, { by: sam, minutes: 60, date: '2026-11-20', at: at + 10 });

    const md = exportMarkdown(doc, {
      sections: ['shares', 'breaks'],
      me: alex,
      formatTime: (t) => new Date(t).toISOString(),
    });
    expect(md).not.toMatch(/\byou\b/i);
    expect(md).toContain('## Daily shares\n\n### 2026-11-20\n');
    expect(md).toContain(
      '**Sam**, 2026-11-20T20:00:00.000Z:\n\nFeelings: Ashamed, Hopeful\n\n> Heavy | but lighter.',
    );
    expect(md).toContain('Ownership:\n\n> I was defensive at dinner.');
    expect(md).toContain('Heard by Alex on 2026-11-20T20:01:00.000Z.');
    expect(md).toContain('Feelings: Tired.\n\nNot yet marked heard.');
    expect(md).toContain(
      '| 2026-11-20 | Alex | 20 minutes | 2026-11-20T20:00:00.000Z | 2026-11-20T20:05:00.000Z | Came back before the time named |',
    );
    expect(md).toContain(
      '| 2026-11-20 | Sam | 1 hour | 2026-11-20T20:00:00.010Z | — | Not back yet |',
    );
    expect(md).not.toContain('## Agreements');
  });

  it('says "None yet." for practices nobody has used', () => {
    const md = exportMarkdown(space(), { sections: ['shares', 'breaks'], me: alex, formatTime });
    expect(md).toContain('## Daily shares\n\nNone yet.');
    expect(md).toContain('## Breaks\n\nNone yet.');
  });
});

function exportShareFingerprint(doc: Y.Doc, key: string): string {
  return listShares(doc).find((s) => s.key === key)!.fingerprint;
}

describe('what only one of them can read, in the export', () => {
  const SEALED = 'c2VhbGVkIGZvciBvbmUgc2VhdA';
  const hidden = 'I was more scared than I said';

  function withPrivate() {
    const doc = space();
    checkInPrivately(doc, {
      partnerId: alex,
      date: '2026-11-21',
      scope: 'checkin',
      sealed: SEALED,
      at,
    });
    checkInPrivately(doc, {
      partnerId: alex,
      date: '2026-11-22',
      scope: 'note',
      safety: 6,
      state: 'calm',
      sealed: SEALED,
      at,
    });
    return doc;
  }
  /** Stands in for Alex's seat: Alex's devices open what Alex kept private. */
  const readOwn = (c: CheckinSnapshot) =>
    c.private === 'checkin'
      ? { safety: 2, state: 'freeze' as const, note: hidden, private: c.private }
      : c.private === 'note'
        ? { safety: c.safety, state: c.state, note: hidden, private: c.private }
        : { safety: c.safety, state: c.state, note: c.note, private: null };

  it('a private check-in is in its author’s export, opened and said to be private', () => {
    const md = exportMarkdown(withPrivate(), {
      sections: ['checkins'],
      me: alex,
      formatTime,
      readOwn,
    });
    expect(md).toContain(`| 2026-11-21 | Alex | 2 | Frozen or numb | Kept private. ${hidden} |`);
    expect(md).toContain(`| 2026-11-22 | Alex | 6 | Calm | Note kept private. ${hidden} |`);
    expect(md).toContain('| 2026-11-20 | Alex | 3 | On alert | Hard day |');
  });

  it('is not in the other partner’s export: of a private note, only that there is one', () => {
    const md = exportMarkdown(withPrivate(), { sections: ['checkins'], me: sam, formatTime });
    expect(md).not.toContain('2026-11-21');
    expect(md).not.toContain(hidden);
    expect(md).toContain('| 2026-11-22 | Alex | 6 | Calm | (note kept private) |');
  });

  it('says so, without the values, when a private check-in does not open on this device', () => {
    const md = exportMarkdown(withPrivate(), {
      sections: ['checkins'],
      me: alex,
      formatTime,
      readOwn: () => null,
    });
    expect(md).toContain(
      '| 2026-11-21 | Alex | — | — | Kept private; it does not open on this device. |',
    );
  });
});

describe('the practices answered together, in the export', () => {
  const text = (partnerId: PartnerId, words: string) => ({ partnerId, text: words });
  const hiddenFrom = (partnerId: PartnerId) => ({ partnerId, hidden: true as const });

  it('exports questions answered together side by side, and of one not revealed only the exporter’s own answer', () => {
    const doc = space();
    const both = openReveal(doc, { prompt: 'What helped?', createdBy: alex, at }).id;
    const waiting = openReveal(doc, { prompt: 'What hurt?', createdBy: sam, at: at + 1 }).id;
    for (const by of [alex, sam]) answerHidden(doc, both, by, at + 2);
    for (const by of [alex, sam]) publishKey(doc, both, by, at + 3);
    addRevealFollowUp(doc, { revealId: both, partnerId: sam, text: 'Also the walk.', at: at + 4 });
    answerHidden(doc, waiting, alex, at + 5);
    const read = (id: RevealId) =>
      id === both
        ? [text(alex, 'You stayed.'), text(sam, 'Your letter.')]
        : [text(alex, 'Being left out.')];

    const md = exportMarkdown(doc, { sections: ['reveals'], me: alex, formatTime, read });
    expect(md).toContain('## Questions answered together\n\n### What helped?');
    expect(md).toContain('Both answers revealed.');
    expect(md).toContain('**Alex, 2026-11-20**:\n\n> You stayed.');
    expect(md).toContain('**Sam, 2026-11-20**:\n\n> Your letter.');
    expect(md).toContain('**Sam, a later thought, 2026-11-20**:\n\n> Also the walk.');
    expect(md).toContain(
      '### What hurt?\n\nAsked by Sam on 2026-11-20. Not revealed yet: Alex answered, Sam not yet.',
    );
    expect(md).toContain(
      '**Alex, 2026-11-20 (not revealed yet; only Alex can read it)**:\n\n> Being left out.',
    );
    expect(md.indexOf('### What helped?')).toBeLessThan(md.indexOf('### What hurt?'));

    // Sam's device cannot read Alex's hidden answer, and Sam's export does not hold it.
    const samsRead = (id: RevealId) =>
      id === both ? [text(alex, 'You stayed.'), text(sam, 'Your letter.')] : [hiddenFrom(alex)];
    const sams = exportMarkdown(doc, {
      sections: ['reveals'],
      me: sam,
      formatTime,
      read: samsRead,
    });
    expect(sams).not.toContain('Being left out.');
    expect(sams).toContain(
      '### What hurt?\n\nAsked by Sam on 2026-11-20. Not revealed yet: Alex answered, Sam not yet.\n',
    );
    expect(md).not.toMatch(/\byou\b(?! stayed)/i);
  });

  it('exports a repair after a fight step by step, feelings in words, step five, and a weekly meeting with its issue', () => {
    const doc = space();
    const meetingAt = Date.UTC(2026, 10, 18, 19, 0);
    const repair = startRepair(doc, { title: 'Sunday dinner', startedBy: sam, at: meetingAt });
    const [one] = repair.steps.map((s) => s.revealId);
    for (const by of [alex, sam]) answerHidden(doc, one!, by, meetingAt);
    for (const by of [alex, sam]) publishKey(doc, one!, by, meetingAt);
    setRepairNextTime(doc, {
      repairId: repair.id,
      partnerId: alex,
      text: 'Ask first.',
      at: meetingAt,
    });
    const week = '2026-11-16' as IsoDate;
    startMeeting(doc, { week, startedBy: alex, at: meetingAt });
    addAppreciation(doc, { week, partnerId: sam, text: 'You cooked.', at: meetingAt + 1 });
    setWentWell(doc, { week, partnerId: alex, text: 'Two calm evenings.', at: meetingAt + 2 });
    meetingIssue(doc, { week, repairId: repair.id, by: alex, at: meetingAt + 3 });
    const read = (id: RevealId) =>
      id === one
        ? [
            text(alex, repairFeelingsAnswer({ feelings: ['hurt', 'afraid'], words: 'Shut out.' })),
            text(sam, 'Tired.'),
          ]
        : [];

    const md = exportMarkdown(doc, {
      sections: ['repairs', 'meetings'],
      me: alex,
      formatTime,
      read,
    });
    expect(md).toContain(
      '## After a fight\n\n### Sunday dinner\n\nStarted by Sam on 2026-11-18. Not done yet.',
    );
    expect(md).toContain('**Step 1, What I felt: Alex, 2026-11-18**:\n\n> Hurt, Afraid. Shut out.');
    expect(md).toContain('**Step 1, What I felt: Sam, 2026-11-18**:\n\n> Tired.');
    expect(md).toContain('**Step five, what Alex would do differently**:\n\n> Ask first.');
    expect(md).toContain(
      '## Weekly meetings\n\n### Week of 2026-11-16\n\nStarted by Alex on 2026-11-18. Issue worked through after a fight: “Sunday dinner”.',
    );
    expect(md).toContain('**Sam appreciated, 2026-11-18**:\n\n> You cooked.');
    expect(md).toContain('**What went well, for Alex**:\n\n> Two calm evenings.');
  });

  it('says "None yet." for practices answered together that nobody has used, and holds no answers without a seat', () => {
    const doc = space();
    const id = openReveal(doc, { prompt: 'What helped?', createdBy: alex, at }).id;
    for (const by of [alex, sam]) answerHidden(doc, id, by, at);
    const md = exportMarkdown(doc, {
      sections: ['reveals', 'repairs', 'meetings'],
      me: alex,
      formatTime,
    });
    expect(md).toContain('## After a fight\n\nNone yet.');
    expect(md).toContain('## Weekly meetings\n\nNone yet.');
    expect(md).toContain('Not revealed yet: Alex and Sam answered.');
    expect(md).not.toContain('**Alex');
  });
});
