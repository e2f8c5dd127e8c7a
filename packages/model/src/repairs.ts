import * as Y from 'yjs';
import { proposeAgreement } from './agreements.js';
import { ModelError, ModelErrorCode } from './errors.js';
import {
  isId,
  randomId,
  type AgreementId,
  type AnswerId,
  type IdGenerator,
  type PartnerId,
  type RepairId,
  type RevealId,
} from './ids.js';
import { Origin } from './origin.js';
import { getReveal, writeReveal } from './reveals.js';
import {
  Feeling,
  Limits,
  REPAIR_PROMPTS,
  REPAIR_REVEAL_KIND,
  RepairStep,
  type EpochMs,
  type RepairNextTimeVersion,
  type RepairPartnerNextTime,
  type RepairSnapshot,
  type RepairStepView,
} from './schema.js';
import {
  isRecord,
  notFound,
  partnerIds,
  requireInitialised,
  requirePartner,
  roots,
  yarray,
  ymap,
} from './store.js';
import { codePoints, freshId, isEpochMs, requireEpochMs, requireText } from './validate.js';

/*
 * After a fight (SPEC.md, After a fight): a guided repair of one regrettable incident. Steps one
 * to four are reveals opened with the repair (answered separately, revealed together by the
 * reveal machinery); step five is each partner's own open answer, which can become a draft
 * agreement. Completing it freezes what it was completed with.
 */

const STEPS: readonly RepairStep[] = Object.values(RepairStep);

function notAllowed(message: string): ModelError {
  return new ModelError(ModelErrorCode.notAllowed, message);
}

export interface StartRepairInput {
  readonly id?: RepairId;
  /** What the repair is about: a short name for the incident both will recognise. */
  readonly title: string;
  readonly startedBy: PartnerId;
  readonly at: EpochMs;
}

/**
 * Starts a repair and, in the same change, opens the reveal of each of steps one to four, so
 * both partners answer the same four prompts and every device links them the same way.
 */
export function startRepair(
  doc: Y.Doc,
  input: StartRepairInput,
  newId: IdGenerator = randomId,
): RepairSnapshot {
  requireInitialised(doc);
  const startedBy = requirePartner(doc, input.startedBy, 'startedBy');
  const title = requireText(input.title, 'What the repair is about', 1, Limits.repairTitle);
  const at = requireEpochMs(input.at, 'at');
  const { repairs, reveals } = roots(doc);
  const id = freshId<RepairId>(input.id, newId, 'Repair id', (i) => repairs.has(i));
  const stepIds = {} as Record<RepairStep, RevealId>;
  for (const step of STEPS) {
    const taken = (i: string) => reveals.has(i) || Object.values(stepIds).includes(i as RevealId);
    stepIds[step] = freshId<RevealId>(undefined, newId, 'Reveal id', taken);
  }
  doc.transact(() => {
    for (const step of STEPS) {
      writeReveal(doc, {
        id: stepIds[step],
        prompt: REPAIR_PROMPTS[step],
        kind: REPAIR_REVEAL_KIND[step],
        createdBy: startedBy,
        at,
      });
    }
    const entry = new Y.Map<unknown>();
    entry.set('id', id);
    entry.set('title', title);
    entry.set('startedBy', startedBy);
    entry.set('startedAt', at);
    entry.set('steps', { ...stepIds });
    // Created with the repair, so no device ever creates them lazily (and concurrently).
    entry.set('nextTime', new Y.Array<unknown>());
    entry.set('drafts', new Y.Map<unknown>());
    repairs.set(id, entry);
  }, Origin.startRepair);
  return getRepair(doc, id)!;
}

export interface SetRepairNextTimeInput {
  readonly id?: AnswerId;
  readonly repairId: RepairId;
  /** The author: a partner writes only their own step five. */
  readonly partnerId: PartnerId;
  readonly text: string;
  readonly at: EpochMs;
}

/**
 * A partner's step five, written openly: one thing they would do differently next time. Each
 * change appends a version (the latest is current), so a completion names the versions it was
 * completed with and they never change. Refused once the repair is completed (`not-allowed`);
 * an unchanged text writes nothing.
 */
export function setRepairNextTime(
  doc: Y.Doc,
  input: SetRepairNextTimeInput,
  newId: IdGenerator = randomId,
): RepairSnapshot {
  const { entry, repair } = requireRepair(doc, input.repairId);
  const by = requirePartner(doc, input.partnerId, 'partnerId');
  const text = requireText(input.text, 'What you would do differently', 1, Limits.repairNextTime);
  const at = requireEpochMs(input.at, 'at');
  if (repair.completed) throw notAllowed('This repair is completed; it stays as it was.');
  const own = repair.nextTime.find((p) => p.partnerId === by)?.current ?? null;
  if (own?.text === text) return repair;
  const versions = yarray(entry, 'nextTime')!;
  const taken = new Set(readVersions(versions).map((v) => v.id as string));
  const id = freshId<AnswerId>(input.id, newId, 'Step five id', (i) => taken.has(i));
  const stored: RepairNextTimeVersion = { id, by, text, at };
  doc.transact(() => versions.push([stored]), Origin.setRepairNextTime);
  return getRepair(doc, repair.id)!;
}

export interface RepairNextTimeToAgreementInput {
  readonly repairId: RepairId;
  /** Whose step five; they propose the agreement, so it is their own. */
  readonly partnerId: PartnerId;
  readonly agreementId?: AgreementId;
  readonly at: EpochMs;
}

/**
 * Proposes a draft agreement whose title is the partner's step five, and links it to the repair,
 * in one change. The link is made once: a second call returns the agreement already made and
 * writes nothing. The agreement then goes its own way (edited, accepted by both, or not).
 */
export function repairNextTimeToAgreement(
  doc: Y.Doc,
  input: RepairNextTimeToAgreementInput,
  newId: IdGenerator = randomId,
): AgreementId {
  const { entry, repair } = requireRepair(doc, input.repairId);
  const by = requirePartner(doc, input.partnerId, 'partnerId');
  const at = requireEpochMs(input.at, 'at');
  const own = repair.nextTime.find((p) => p.partnerId === by);
  if (own?.agreementId) return own.agreementId;
  if (!own?.current) {
    throw notAllowed('Write what you would do differently first; then it can become an agreement.');
  }
  const agreements = roots(doc).agreements;
  const agreementId = freshId<AgreementId>(input.agreementId, newId, 'Agreement id', (i) =>
    agreements.has(i),
  );
  const drafts = ymap(entry, 'drafts')!;
  doc.transact(() => {
    // Nested: one change, under this operation's origin. Its input is checked already.
    proposeAgreement(doc, { id: agreementId, title: own.current!.text, body: '', by, at });
    drafts.set(by, { agreementId, at });
  }, Origin.repairNextTimeToAgreement);
  return agreementId;
}

export interface CompleteRepairInput {
  readonly repairId: RepairId;
  /** Either partner. */
  readonly by: PartnerId;
  readonly at: EpochMs;
}

/**
 * Marks the repair done, once: only when all four steps are revealed and both partners wrote
 * step five (`not-allowed` before, and once completed). It records which step-five versions it
 * was completed with, so what was completed never changes.
 */
export function completeRepair(doc: Y.Doc, input: CompleteRepairInput): RepairSnapshot {
  const { entry, repair } = requireRepair(doc, input.repairId);
  const by = requirePartner(doc, input.by, 'by');
  const at = requireEpochMs(input.at, 'at');
  if (repair.completed) throw notAllowed('This repair is completed already.');
  if (!repair.canComplete) {
    throw notAllowed(
      'A repair is completed once both have answered and read steps one to four, and both wrote step five.',
    );
  }
  const nextTime = repair.nextTime.map((p) => p.current!.id);
  doc.transact(() => entry.set('completed', { by, at, nextTime }), Origin.completeRepair);
  return getRepair(doc, repair.id)!;
}

/**
 * Step one's answer as the text that is sealed: feelings chosen from `Feeling` (in its order,
 * each once) and words. The model never sees it in the clear; the app seals and opens it.
 */
export function repairFeelingsAnswer(input: {
  readonly feelings: readonly Feeling[];
  readonly words: string;
}): string {
  const all: readonly string[] = Object.values(Feeling);
  if (!Array.isArray(input.feelings) || input.feelings.some((f) => !all.includes(f))) {
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      `Feelings must be chosen from: ${all.join(', ')}.`,
    );
  }
  const words = requireText(input.words, 'Feelings in your words', 0, Limits.shareText);
  const feelings = all.filter((f) => input.feelings.includes(f as Feeling));
  if (feelings.length === 0 && words.trim() === '') {
    throw new ModelError(
      ModelErrorCode.invalidArgument,
      'Feelings: choose at least one, or say it in words.',
    );
  }
  return JSON.stringify({ feelings, words });
}

/** The feelings and words of an opened step-one answer, or null for any other text. */
export function readRepairFeelingsAnswer(
  text: string,
): { readonly feelings: readonly Feeling[]; readonly words: string } | null {
  try {
    const value: unknown = JSON.parse(text);
    if (!isRecord(value) || typeof value.words !== 'string' || !Array.isArray(value.feelings)) {
      return null;
    }
    const all: readonly unknown[] = Object.values(Feeling);
    if (value.feelings.some((f) => !all.includes(f))) return null;
    return { feelings: value.feelings as Feeling[], words: value.words };
  } catch {
    return null;
  }
}

// ---- reading

function requireRepair(doc: Y.Doc, id: unknown): { entry: Y.Map<unknown>; repair: RepairSnapshot } {
  requireInitialised(doc);
  const repairId = String(id) as RepairId;
  const entry = roots(doc).repairs.get(repairId);
  const repair = entry instanceof Y.Map ? read(doc, repairId, entry) : null;
  if (!entry || !repair) throw notFound('repair', repairId);
  return { entry, repair };
}

function readVersion(value: unknown): RepairNextTimeVersion | null {
  if (!isRecord(value)) return null;
  const { id, by, text, at } = value;
  if (!isId(id) || !isId(by) || typeof text !== 'string' || !isEpochMs(at)) return null;
  if (codePoints(text) > Limits.repairNextTime) return null;
  return { id: id as AnswerId, by: by as PartnerId, text, at };
}

function readVersions(versions: Y.Array<unknown>): RepairNextTimeVersion[] {
  return versions.toArray().flatMap((v) => readVersion(v) ?? []);
}

function readSteps(value: unknown): Record<RepairStep, RevealId> | null {
  if (!isRecord(value)) return null;
  return STEPS.every((s) => isId(value[s])) ? (value as Record<RepairStep, RevealId>) : null;
}

function readCompletion(
  value: unknown,
): { by: PartnerId; at: EpochMs; nextTime: readonly string[] } | null {
  if (!isRecord(value)) return null;
  const { by, at, nextTime } = value;
  if (!isId(by) || !isEpochMs(at) || !Array.isArray(nextTime) || !nextTime.every(isId)) {
    return null;
  }
  return { by: by as PartnerId, at, nextTime };
}

/** The repair, or null while incomplete: its own fields and containers are written at start. */
function read(doc: Y.Doc, id: string, entry: Y.Map<unknown>): RepairSnapshot | null {
  const title = entry.get('title');
  const startedBy = entry.get('startedBy');
  const startedAt = entry.get('startedAt');
  const stepIds = readSteps(entry.get('steps'));
  const versions = yarray(entry, 'nextTime');
  const drafts = ymap(entry, 'drafts');
  if (
    entry.get('id') !== id ||
    typeof title !== 'string' ||
    !isId(startedBy) ||
    !isEpochMs(startedAt) ||
    !stepIds ||
    !versions ||
    !drafts
  ) {
    return null;
  }
  const steps: RepairStepView[] = STEPS.map((step) => {
    const reveal = getReveal(doc, stepIds[step]);
    // A reveal counts as this step's only if it was opened for it.
    return {
      step,
      revealId: stepIds[step],
      reveal: reveal?.kind === REPAIR_REVEAL_KIND[step] ? reveal : null,
    };
  });
  // A completion that cannot be read reads as not completed; the rule table refuses one.
  const completion = readCompletion(entry.get('completed'));
  const all = readVersions(versions);
  const nextTime: RepairPartnerNextTime[] = partnerIds(doc).map((partnerId) => {
    const own = all.filter((v) => v.by === partnerId);
    const current = completion
      ? (own.find((v) => completion.nextTime.includes(v.id)) ?? null)
      : (own[own.length - 1] ?? null);
    const draft = drafts.get(partnerId);
    const agreementId = isRecord(draft) && isId(draft.agreementId) ? draft.agreementId : null;
    return { partnerId, current, agreementId: agreementId as AgreementId | null };
  });
  const stepsAnswered = steps.every((s) => s.reveal?.bothAnswered ?? false);
  const stepsRevealed = steps.every((s) => s.reveal?.revealed ?? false);
  const full = nextTime.length === 2;
  return {
    id: id as RepairId,
    title,
    startedBy: startedBy as PartnerId,
    startedAt,
    steps,
    stepsAnswered,
    stepsRevealed,
    nextTime,
    canComplete: !completion && full && stepsRevealed && nextTime.every((p) => p.current !== null),
    completed: completion ? { by: completion.by, at: completion.at } : null,
  };
}

export function getRepair(doc: Y.Doc, repairId: RepairId): RepairSnapshot | null {
  const entry = roots(doc).repairs.get(String(repairId));
  return entry instanceof Y.Map ? read(doc, String(repairId), entry) : null;
}

/** Every repair, the most recent first (by start, then id, so every replica orders them alike). */
export function listRepairs(doc: Y.Doc): RepairSnapshot[] {
  const out: RepairSnapshot[] = [];
  for (const [id, entry] of roots(doc).repairs.entries()) {
    const r = entry instanceof Y.Map ? read(doc, id, entry) : null;
    if (r) out.push(r);
  }
  return out.sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}
