import {
  RevealAnswerStatus,
  type MeetingSnapshot,
  type RepairSnapshot,
  type RevealId,
  type RevealSnapshot,
} from '@mend/model';
import type { ReadableAnswer } from '@mend/sealed';
import { feelingsWords, repairStepTitle } from './repairs.js';

/*
 * The practices answered together in an export (Markdown and the printable preview): questions
 * answered together, repairs after a fight and weekly meetings, each as an entry of who said what.
 * An export holds what this device can read: everything revealed; of what is not revealed yet,
 * only this person's own answer, marked as such (the other's stays hidden, as it is on screen).
 */

/** Something one of them said, under a label naming who and when. */
export interface Said {
  readonly label: string;
  readonly text: string;
}

/** One question, repair or meeting: a heading, a line about it, and what was said, in order. */
export interface ExportEntry {
  readonly key: string;
  readonly title: string;
  readonly about: string;
  readonly said: readonly Said[];
}

export interface EntryContext {
  /** A partner's name (an export is read by others too: never "you"). */
  readonly name: (partnerId: string) => string;
  readonly formatTime: (at: number) => string;
  /** The answers this device can read (SeatReveals.read); absent: none (a plaintext space). */
  readonly read?: ((revealId: RevealId) => readonly ReadableAnswer[]) | undefined;
}

/** Who has answered a reveal not revealed yet, in names. */
function whoAnswered(reveal: RevealSnapshot, name: EntryContext['name']): string {
  const [answered, waiting] = [true, false].map((yes) =>
    reveal.partners
      .filter((p) => (p.status !== RevealAnswerStatus.notAnswered) === yes)
      .map((p) => name(p.partnerId)),
  ) as [string[], string[]];
  if (answered.length === 0) return 'Not answered yet.';
  return `Not revealed yet: ${answered.join(' and ')} answered${waiting.length ? `, ${waiting.join(' and ')} not yet` : ''}.`;
}

/** The answers of a reveal this device can read, each labelled; `show` turns text into words. */
function answersOf(
  reveal: RevealSnapshot,
  context: EntryContext,
  label: (name: string) => string,
  show: (text: string) => string = (text) => text,
): Said[] {
  const said: Said[] = [];
  for (const answer of context.read?.(reveal.id) ?? []) {
    const who = context.name(answer.partnerId);
    if ('hidden' in answer) continue;
    const at = reveal.partners.find((p) => p.partnerId === answer.partnerId)?.answer?.at;
    const when = at === undefined ? '' : `, ${context.formatTime(at)}`;
    const hidden = reveal.revealed ? '' : ` (not revealed yet; only ${who} can read it)`;
    said.push({
      label: `${label(who)}${when}${hidden}`,
      text: 'text' in answer ? show(answer.text) : 'It does not open on this device.',
    });
  }
  return said;
}

/** Questions answered together, oldest first. */
export function revealEntries(
  reveals: readonly RevealSnapshot[],
  context: EntryContext,
): ExportEntry[] {
  return [...reveals]
    .sort((a, b) => a.createdAt - b.createdAt)
    .map((reveal) => ({
      key: reveal.id,
      title: reveal.prompt,
      about: `Asked by ${context.name(reveal.createdBy)} on ${context.formatTime(reveal.createdAt)}. ${
        reveal.revealed ? 'Both answers revealed.' : whoAnswered(reveal, context.name)
      }`,
      said: [
        ...answersOf(reveal, context, (who) => who),
        ...reveal.followUps.map((f) => ({
          label: `${context.name(f.by)}, a later thought, ${context.formatTime(f.at)}`,
          text: f.text,
        })),
      ],
    }));
}

function feelingsText(text: string): string {
  const { feelings, words } = feelingsWords(text);
  return [feelings, words].filter(Boolean).join('. ');
}

/** Repairs after a fight, oldest first: each step's answers, then each one's step five. */
export function repairEntries(
  repairs: readonly RepairSnapshot[],
  context: EntryContext,
): ExportEntry[] {
  return [...repairs]
    .sort((a, b) => a.startedAt - b.startedAt)
    .map((repair) => ({
      key: repair.id,
      title: repair.title,
      about: `Started by ${context.name(repair.startedBy)} on ${context.formatTime(repair.startedAt)}. ${
        repair.completed
          ? `Marked done by ${context.name(repair.completed.by)} on ${context.formatTime(repair.completed.at)}.`
          : 'Not done yet.'
      }`,
      said: [
        ...repair.steps.flatMap((step, i) =>
          step.reveal
            ? answersOf(
                step.reveal,
                context,
                (who) => `Step ${i + 1}, ${repairStepTitle[step.step]}: ${who}`,
                step.step === 'feelings' ? feelingsText : undefined,
              )
            : [],
        ),
        ...repair.nextTime.flatMap((p) =>
          p.current
            ? [
                {
                  label: `Step five, what ${context.name(p.partnerId)} would do differently`,
                  text: p.current.text,
                },
              ]
            : [],
        ),
      ],
    }));
}

/** Weekly meetings, oldest first: appreciations, what went well, the issue worked through. */
export function meetingEntries(
  meetings: readonly MeetingSnapshot[],
  context: EntryContext,
): ExportEntry[] {
  return [...meetings]
    .sort((a, b) => (a.week < b.week ? -1 : 1))
    .map((meeting) => ({
      key: meeting.week,
      title: `Week of ${meeting.week}`,
      about: `Started by ${context.name(meeting.startedBy)} on ${context.formatTime(meeting.startedAt)}. ${
        meeting.issue?.repair
          ? `Issue worked through after a fight: “${meeting.issue.repair.title}”.`
          : 'No issue worked through.'
      }`,
      said: meeting.partners.flatMap((p) => [
        ...p.appreciations.map((a) => ({
          label: `${context.name(p.partnerId)} appreciated, ${context.formatTime(a.at)}`,
          text: a.text,
        })),
        ...(p.wentWell
          ? [{ label: `What went well, for ${context.name(p.partnerId)}`, text: p.wentWell.text }]
          : []),
      ]),
    }));
}
