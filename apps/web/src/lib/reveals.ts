import {
  listReveals,
  RevealAnswerStatus,
  roots,
  type PartnerId,
  type RevealSnapshot,
} from '@mend/model';
import type * as Y from 'yjs';
import { YView } from './sync/YView.svelte.js';

/*
 * "Answer together" (a reveal): both answer one prompt on their own; both answers appear side by
 * side once both have answered. Loaded with its screens and Today's card, never on first load.
 */

/** A few calm prompts to start from; a couple can always write their own. */
export const suggestedPrompts = [
  'What is one thing that helped you feel safer this week?',
  'What do you miss most about how we used to be?',
  'What is something you find hard to say to me, and why?',
  'What would a good evening together look like right now?',
  'What is one small thing I could do tomorrow that would help?',
] as const;

/**
 * The space's own questions, newest first, recomputed only when a reveal changes. A practice's
 * reveals (a repair's steps, which have a kind) are answered and reread on its own screens.
 */
export function revealsView(doc: Y.Doc): YView<RevealSnapshot[]> {
  return new YView([roots(doc).reveals], () => {
    try {
      return listReveals(doc)
        .filter((r) => r.kind === null)
        .reverse();
    } catch {
      // A space not set up yet on this device reads as no reveals.
      return [];
    }
  });
}

function statusOf(reveal: RevealSnapshot, partnerId: PartnerId) {
  return reveal.partners.find((p) => p.partnerId === partnerId)?.status;
}

/** Whether this partner has answered the reveal. */
export function hasAnswered(reveal: RevealSnapshot, me: PartnerId): boolean {
  const status = statusOf(reveal, me);
  return status !== undefined && status !== RevealAnswerStatus.notAnswered;
}

/** Reveals still waiting for this partner's answer (Today, Practices), newest first. */
export function waitingForMe(reveals: readonly RevealSnapshot[], me: PartnerId): RevealSnapshot[] {
  return reveals.filter((r) => !r.bothAnswered && !hasAnswered(r, me));
}

/**
 * Where a reveal stands, in one plain sentence for this partner: never anything of an answer
 * but whether it exists.
 */
export function revealStatusWords(
  reveal: RevealSnapshot,
  me: PartnerId,
  partnerName: string,
): string {
  if (reveal.revealed) return 'Both answers are here.';
  const mine = hasAnswered(reveal, me);
  const partner = reveal.partners.find((p) => p.partnerId !== me);
  const theirs = partner !== undefined && partner.status !== RevealAnswerStatus.notAnswered;
  if (reveal.bothAnswered) {
    return partner?.status === RevealAnswerStatus.revealed
      ? 'You have both answered. Both answers appear in a moment.'
      : `You have both answered. Both answers appear once ${partnerName}'s device is online.`;
  }
  if (theirs) return `${partnerName} has answered; your answer reveals both.`;
  if (mine) return `You have answered. ${partnerName} has not answered yet.`;
  return 'Neither of you has answered yet.';
}
