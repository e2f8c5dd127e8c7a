import {
  agreementChanges,
  keepLog,
  listAgreements,
  listBoundaries,
  listBreaks,
  listCheckins,
  listPartners,
  listQuestions,
  listMeetings,
  listRepairs,
  listReveals,
  listShares,
  getSpace,
  type CheckinSnapshot,
  type CheckinState,
  type PartnerId,
} from '@mend/model';
import type { OwnCheckin } from '@mend/sealed';
import type * as Y from 'yjs';
import {
  meetingEntries,
  repairEntries,
  revealEntries,
  type EntryContext,
  type ExportEntry,
} from './exportPractices.js';
import { breakLengthLabel, feelingLabel, shareParts } from './practices.js';
import {
  agreementStatusForReaders,
  agreementTitle,
  breakStatusForReaders,
  keepLabel,
  questionStatusLabel,
  stateLabel,
} from './labels.js';

export const ExportSection = {
  agreements: 'agreements',
  questions: 'questions',
  checkins: 'checkins',
  boundaries: 'boundaries',
  shares: 'shares',
  breaks: 'breaks',
  reveals: 'reveals',
  repairs: 'repairs',
  meetings: 'meetings',
} as const;
export type ExportSection = (typeof ExportSection)[keyof typeof ExportSection];

export interface ExportOptions {
  sections: readonly ExportSection[];
  /** Whose point of view "you" is written from. */
  me: PartnerId;
  /** Formats an epoch-ms time for the reader. */
  formatTime: (at: number) => string;
  /**
   * This partner's own check-in as they read it (OwnCheckins): what they kept private opened,
   * null or undefined where it does not open here. Without it, only what is shared is exported.
   */
  readOwn?: (checkin: CheckinSnapshot) => OwnCheckin | null | undefined;
  /** The answers to reveals this device can read (SeatReveals.read); absent: none. */
  read?: EntryContext['read'];
}

/** One check-in as an export shows it. */
export interface CheckinRow {
  readonly key: string;
  readonly date: string;
  readonly partnerId: PartnerId;
  /** Null: kept private and not opened on this device. */
  readonly safety: number | null;
  readonly state: CheckinState | null;
  /** The note, with what of the check-in was kept private said first. */
  readonly note: string;
}

/**
 * The check-ins an export holds, as this partner reads them: their own with what they kept
 * private opened (and said to be private), the other partner's as shared. The other partner's
 * check-ins kept private whole are not in it at all, and of a private note only that it exists.
 */
export function checkinRows(
  checkins: readonly CheckinSnapshot[],
  me: PartnerId,
  readOwn: ExportOptions['readOwn'],
): CheckinRow[] {
  const rows: CheckinRow[] = [];
  for (const c of checkins) {
    const row = { key: c.key, date: c.date, partnerId: c.partnerId };
    if (c.partnerId !== me || c.private === null) {
      if (c.private === 'checkin') continue;
      const note = c.private === 'note' ? '(note kept private)' : c.note;
      rows.push({ ...row, safety: c.safety, state: c.state, note });
      continue;
    }
    const own = readOwn?.(c);
    const kept = c.private === 'note' ? 'Note kept private' : 'Kept private';
    rows.push(
      own
        ? { ...row, safety: own.safety, state: own.state, note: `${kept}. ${own.note}`.trim() }
        : { ...row, safety: null, state: null, note: `${kept}; it does not open on this device.` },
    );
  }
  return rows;
}

/** A Markdown copy of the chosen parts of a space, for a therapy session or safe keeping. */
export function exportMarkdown(doc: Y.Doc, options: ExportOptions): string {
  const { sections, formatTime } = options;
  const partners = listPartners(doc);
  const name = (id: string) => partners.find((p) => p.id === id)?.displayName ?? 'Unknown';
  const space = getSpace(doc);
  const out: string[] = [];
  out.push(`# ${space?.name || 'Our space'}`);
  out.push('');
  out.push(
    `Exported from Mend on ${formatTime(Date.now())}. ${partners.map((p) => p.displayName).join(' and ')}.`,
  );

  if (sections.includes('agreements')) {
    out.push('', '## Agreements');
    const agreements = listAgreements(doc);
    if (agreements.length === 0) out.push('', 'None yet.');
    for (const a of agreements) {
      out.push('', `### ${agreementTitle(a)}`, '');
      out.push(
        `Status: ${agreementStatusForReaders[a.status]}. Proposed by ${name(a.proposedBy)} on ${formatTime(a.createdAt)}.`,
      );
      // The wording both accepted is the one in force; a change still waiting is shown after it.
      const change = a.status === 'changed' ? agreementChanges(doc, { agreementId: a.id }) : null;
      if (change) {
        out.push(
          '',
          'Wording both accepted:',
          '',
          quote(`${change.before.title}\n\n${change.before.body}`),
        );
        out.push(
          '',
          'Proposed change, not yet accepted by both:',
          '',
          quote(`${a.title}\n\n${a.body}`),
        );
      } else if (a.body) out.push('', quote(a.body));
      const accepted = a.acceptedCurrentBy.map(name);
      out.push(
        '',
        accepted.length > 0
          ? `Current wording accepted by: ${accepted.join(', ')}.`
          : 'Current wording not yet accepted.',
      );
      const log = keepLog(doc, { agreementId: a.id });
      if (log.length > 0) {
        out.push('', '| Day | Who | Logged |', '| --- | --- | --- |');
        for (const day of log) {
          const earlier =
            day.earlier.length > 0
              ? ` (first logged: ${day.earlier.map((e) => keepLabel[e.value]).join(', ')})`
              : '';
          out.push(
            `| ${day.date} | ${cell(name(day.partnerId))} | ${keepLabel[day.current.value]}${earlier} |`,
          );
        }
      }
    }
  }

  if (sections.includes('questions')) {
    out.push('', '## Questions');
    const questions = listQuestions(doc);
    if (questions.length === 0) out.push('', 'None yet.');
    for (const q of questions) {
      out.push('', `### ${oneLine(q.text)}`, '');
      out.push(
        `Asked by ${name(q.askedBy)} on ${formatTime(q.askedAt)}. ${questionStatusLabel[q.status]}.`,
      );
      if (q.askAgainOf) out.push('', '(Asked again; see the earlier asking of this question.)');
      for (const item of q.thread) {
        const verb = item.kind === 'follow-up' ? 'asked a follow-up' : 'answered';
        out.push('', `**${name(item.by)}** ${verb}, ${formatTime(item.at)}:`, '', quote(item.text));
      }
    }
  }

  if (sections.includes('checkins')) {
    out.push('', '## Check-ins', '');
    const checkins = checkinRows(listCheckins(doc), options.me, options.readOwn);
    if (checkins.length === 0) out.push('None yet.');
    else {
      out.push(
        '| Day | Who | Felt safety (0-10) | State | Note |',
        '| --- | --- | --- | --- | --- |',
      );
      for (const c of checkins) {
        out.push(
          `| ${c.date} | ${cell(name(c.partnerId))} | ${c.safety ?? '—'} | ${c.state ? stateLabel[c.state] : '—'} | ${cell(c.note)} |`,
        );
      }
    }
  }

  if (sections.includes('boundaries')) {
    out.push('', '## Boundaries');
    const boundaries = listBoundaries(doc);
    if (boundaries.length === 0) out.push('', 'None yet.');
    for (const b of boundaries) {
      const ack = b.acknowledgement
        ? `Acknowledged by ${name(b.acknowledgement.by)} on ${formatTime(b.acknowledgement.at)}.`
        : 'Not yet acknowledged.';
      out.push(
        '',
        `${name(b.owner)}'s boundary, set ${formatTime(b.createdAt)}:`,
        '',
        quote(b.text),
        '',
        ack,
      );
    }
  }

  if (sections.includes('shares')) {
    out.push('', '## Daily shares');
    const shares = listShares(doc);
    if (shares.length === 0) out.push('', 'None yet.');
    let day = '';
    for (const s of shares) {
      if (s.date !== day) out.push('', `### ${(day = s.date)}`);
      out.push('', `**${name(s.partnerId)}**, ${formatTime(s.createdAt)}:`, '');
      const feelings = s.feelings.map((f) => feelingLabel[f]).join(', ');
      out.push(`Feelings: ${feelings || '(in words)'}${s.feelingWords ? '' : '.'}`);
      if (s.feelingWords) out.push('', quote(s.feelingWords));
      for (const part of shareParts) {
        if (s[part.field]) out.push('', `${part.label}:`, '', quote(s[part.field]));
      }
      out.push(
        '',
        s.heard?.ofCurrentWords
          ? `Heard by ${name(s.heard.by)} on ${formatTime(s.heard.at)}.`
          : 'Not yet marked heard.',
      );
    }
  }

  if (sections.includes('breaks')) {
    out.push('', '## Breaks', '');
    const breaks = listBreaks(doc);
    if (breaks.length === 0) out.push('None yet.');
    else {
      out.push(
        '| Day | Who | Asked for | Started | Back | How it ended |',
        '| --- | --- | --- | --- | --- | --- |',
      );
      for (const b of breaks) {
        out.push(
          `| ${b.date} | ${cell(name(b.by))} | ${breakLengthLabel(b.minutes)} | ${formatTime(b.calledAt)} | ${b.endedAt === null ? '—' : formatTime(b.endedAt)} | ${breakStatusForReaders[b.status]} |`,
        );
      }
    }
  }

  const context: EntryContext = { name, formatTime, read: options.read };
  const practices: [ExportSection, string, () => ExportEntry[]][] = [
    [
      'reveals',
      'Questions answered together',
      () =>
        revealEntries(
          listReveals(doc).filter((r) => r.kind === null),
          context,
        ),
    ],
    ['repairs', 'After a fight', () => repairEntries(listRepairs(doc), context)],
    ['meetings', 'Weekly meetings', () => meetingEntries(listMeetings(doc), context)],
  ];
  for (const [section, heading, entries] of practices) {
    if (!sections.includes(section)) continue;
    out.push('', `## ${heading}`);
    const all = entries();
    if (all.length === 0) out.push('', 'None yet.');
    for (const entry of all) {
      out.push('', `### ${oneLine(entry.title)}`, '', entry.about);
      for (const said of entry.said) out.push('', `**${said.label}**:`, '', quote(said.text));
    }
  }

  out.push('');
  return out.join('\n');
}

function quote(text: string): string {
  return text
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A table cell: no line breaks, and a literal `|` cannot end the cell. */
function cell(text: string): string {
  return oneLine(text).replace(/\|/g, '\\|');
}
