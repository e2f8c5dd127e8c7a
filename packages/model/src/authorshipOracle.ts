import * as Y from 'yjs';
import { keepLog, listAgreements } from './agreements.js';
import { readRemoteUpdate, refusal, type UpdateAuthor, type UpdateVerdict } from './authorship.js';
import { Refused, UpdateRefusal } from './AuthorshipCheck.js';
import { rootSpec } from './authorshipRules.js';
import { listBoundaries } from './boundaries.js';
import { listBreaks } from './breaks.js';
import { listCheckins } from './checkins.js';
import { readDeviceNames } from './devices.js';
import type { PartnerId } from './ids.js';
import { checkNeighbourOrder, checkPlacedNeighbours } from './neighbourOrder.js';
import { compareOwned, field } from './ownership.js';
import { Placement } from './Placement.js';
import {
  PlainList,
  PlainMap,
  PlainOther,
  PlainText,
  samePlain,
  snapshotOf,
  type Plain,
} from './plainSnapshot.js';
import { listMeetings } from './meetings.js';
import { listQuestions } from './questions.js';
import { listRepairs } from './repairs.js';
import { listShares } from './shares.js';
import { listReveals } from './reveals.js';
import {
  entryOwner,
  may,
  ruleAt,
  Who,
  type ContainerSpec,
  type FieldRule,
  type RecordView,
} from './ruleSpecs.js';
import { getSpace, listPartners } from './space.js';

/**
 * The slow, obviously correct twin of `checkRemoteUpdate`, for tests and audits: apply the
 * update to a copy of the document, then compare plain snapshots before and after. Refused when
 * anything another partner owns differs (`ownedByOthers`), when a change breaks the rule table
 * (a field set once changed, an append-only list lost or reordered an element, a value, place
 * or root the schema lacks, a change in another partner's name), or when the model's readers
 * throw on the result. It judges what changed; the fast checker judges what the update writes,
 * so it may be stricter (a write that changes nothing still writes), never laxer. Costs a copy
 * of the whole document per update.
 */
export function checkRemoteUpdateByReplica(
  doc: Y.Doc,
  update: Uint8Array,
  author: UpdateAuthor,
): UpdateVerdict {
  const replica = new Y.Doc();
  try {
    const known = (client: number) => Y.getState(doc.store, client);
    const read = readRemoteUpdate(update, author, known);
    if (read instanceof Refused) return refusal(read);
    // Where a crafted item lands depends on the order of integration, so no replica can judge
    // it by what changed: the same structural check as the fast checker.
    const unplaced = checkNeighbourOrder(new Placement(doc, read, known));
    if (unplaced instanceof Refused) return refusal(unplaced);
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(doc));
    const before = snapshotOf(replica);
    try {
      Y.applyUpdate(replica, update);
    } catch {
      return refusal(new Refused(UpdateRefusal.malformed, 'Yjs could not apply it'));
    }
    if (replica.store.pendingStructs || replica.store.pendingDs) {
      return refusal(new Refused(UpdateRefusal.missingDependencies, 'Yjs parked part of it'));
    }
    const crossed = checkPlacedNeighbours(replica, unplaced);
    if (crossed) return refusal(crossed);
    const after = snapshotOf(replica);
    const problem =
      compareSpace(before, after, author.partnerId) ??
      compareOwned(before, after, author.partnerId) ??
      readBack(replica);
    return problem ? refusal(problem) : { ok: true };
  } catch {
    return refusal(new Refused(UpdateRefusal.malformed, 'the update could not be read'));
  } finally {
    replica.destroy();
  }
}

// ---- the rule table, applied to what changed

interface Scope {
  readonly owner: string | null;
  readonly key: string | null;
  readonly path: string;
  /** The map that holds this container, as it is after the update (for requirements). */
  readonly record?: Plain;
}

function compareSpace(
  before: ReadonlyMap<string, Plain>,
  after: ReadonlyMap<string, Plain>,
  author: PartnerId,
): Refused | null {
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(name);
    const a = after.get(name);
    if (samePlain(b, a)) continue;
    const spec = rootSpec(name);
    if (!spec) return schema(`${name} is not a place in a space`);
    const empty = new PlainMap('root', new Map(), false);
    const problem = compareContainer(
      spec,
      b,
      a ?? empty,
      { owner: null, key: null, path: name },
      author,
    );
    if (problem) return problem;
  }
  return null;
}

function compareContainer(
  spec: ContainerSpec,
  before: Plain,
  after: Plain,
  scope: Scope,
  author: PartnerId,
): Refused | null {
  switch (spec.kind) {
    case 'map':
    case 'dict':
      return compareMap(spec, before, after, scope, author);
    case 'list':
      return compareList(spec.element, before, after, scope, author);
    case 'text': {
      if (!(after instanceof PlainText) || after.odd) return schema(`${scope.path} is plain text`);
      if (before instanceof PlainText && before.text === after.text) return null;
      return may(spec.write, scope.owner, author) ? null : others(scope.path);
    }
    default: {
      const unreachable: never = spec;
      return unreachable;
    }
  }
}

function compareMap(
  spec: ContainerSpec,
  before: Plain,
  after: Plain,
  scope: Scope,
  author: PartnerId,
): Refused | null {
  if (!(after instanceof PlainMap) || after.odd) return schema(`${scope.path} is a map`);
  const was = before instanceof PlainMap ? before.entries : new Map<string, Plain>();
  if (spec.kind === 'dict' && spec.limit !== undefined && after.entries.size > spec.limit) {
    return schema(`${spec.name} holds at most ${spec.limit}`);
  }
  for (const key of new Set([...was.keys(), ...after.entries.keys()])) {
    const b = was.get(key);
    const a = after.entries.get(key);
    if (was.has(key) === after.entries.has(key) && samePlain(b, a)) continue;
    const place = `${scope.path}/${key}`;
    const rule = ruleAt(spec, key);
    if (!rule) return schema(`${place} is not a place in a space`);
    const owner = entryOwner(spec, key, scope.owner);
    if (!after.entries.has(key)) {
      if (rule.once) return immutable(place);
      if (may(rule.remove ?? Who.nobody, owner, author)) continue;
      return may(rule.write, owner, author) ? schema(`${place} is required`) : others(place);
    }
    const child: Scope = {
      owner: childOwner(rule, a, b, owner),
      key,
      path: place,
      record: after,
    };
    if (sameContainer(b, a)) {
      if (rule.value.kind === 'leaf') return schema(`${place} must hold a plain value`);
      const problem = compareContainer(rule.value, b, a, child, author);
      if (problem) return problem;
      continue;
    }
    if (was.has(key) && rule.once) return immutable(place);
    if (!may(rule.write, owner, author)) return others(place);
    const problem = checkNew(rule, a, child, scope, author);
    if (problem) return problem;
  }
  return null;
}

function compareList(
  element: FieldRule,
  before: Plain,
  after: Plain,
  scope: Scope,
  author: PartnerId,
): Refused | null {
  if (!(after instanceof PlainList) || after.odd) return schema(`${scope.path} is a list`);
  const was = before instanceof PlainList ? before.elements : [];
  const place = `${scope.path}/[]`;
  const added: Plain[] = [];
  let j = 0;
  for (const old of was) {
    while (j < after.elements.length && after.elements[j]!.id !== old.id) {
      added.push(after.elements[j++]!.value);
    }
    const now = after.elements[j++];
    if (!now) return appendOnly(place);
    if (samePlain(old.value, now.value)) continue;
    if (!sameContainer(old.value, now.value) || element.value.kind === 'leaf') {
      return appendOnly(place);
    }
    const child: Scope = {
      owner: childOwner(element, now.value, old.value, scope.owner),
      key: null,
      path: place,
      record: after,
    };
    const problem = compareContainer(element.value, old.value, now.value, child, author);
    if (problem) return problem;
  }
  added.push(...after.elements.slice(j).map((e) => e.value));
  for (const value of added) {
    if (!may(element.write, scope.owner, author)) return others(place);
    const child: Scope = {
      owner: childOwner(element, value, undefined, scope.owner),
      key: null,
      path: place,
      record: after,
    };
    const problem = checkNew(element, value, child, scope, author);
    if (problem) return problem;
  }
  return null;
}

/** A value written anew: right kind, valid, in the author's name, and (a map) complete. */
function checkNew(
  rule: FieldRule,
  value: Plain,
  child: Scope,
  container: Scope,
  author: PartnerId,
): Refused | null {
  const spec = rule.value;
  if (spec.kind === 'leaf') {
    if (isPlainType(value)) return schema(`${child.path} must hold a plain value`);
    const wrong = spec.check(value, { recordKey: container.key });
    if (wrong !== null) return schema(`${child.path} must hold ${wrong}`);
    if (spec.names && spec.names(value) !== author) return others(child.path);
    const unmet = rule.requires?.(value, recordView(container.record), author) ?? null;
    if (unmet !== null) {
      return new Refused(UpdateRefusal.precondition, `${child.path} must be ${unmet}`);
    }
    return null;
  }
  const expected = spec.kind === 'list' ? PlainList : spec.kind === 'text' ? PlainText : PlainMap;
  if (!(value instanceof expected)) return schema(`${child.path} must hold a ${spec.name}`);
  if (spec.kind === 'map') {
    for (const key of spec.required) {
      if (!(value as PlainMap).entries.has(key)) return schema(`a new ${spec.name} lacks ${key}`);
    }
  }
  return compareContainer(spec, undefined, value, child, author);
}

/** A record's plain snapshot, read as the rule table's requirements read it. */
function recordView(record: Plain): RecordView {
  const at = (path: readonly string[]): Plain => {
    let here: Plain = record;
    for (const key of path) here = field(here, key);
    return here;
  };
  return {
    value: (path) => {
      const v = path.length === 0 ? undefined : at(path);
      return isPlainType(v) || v instanceof PlainOther ? undefined : v;
    },
    keys: (path) => {
      const map = at(path);
      return map instanceof PlainMap ? [...map.entries.keys()] : [];
    },
  };
}

/** Whose a container is: its owner field if its spec names one, else its place's owner. */
function childOwner(
  rule: FieldRule,
  now: Plain,
  was: Plain,
  placeOwner: string | null,
): string | null {
  const spec = rule.value;
  if (spec.kind !== 'map' || !spec.owner) return placeOwner;
  const owner = field(now, spec.owner) ?? field(was, spec.owner);
  return typeof owner === 'string' ? owner : null;
}

function sameContainer(a: Plain, b: Plain): boolean {
  return isPlainType(a) && isPlainType(b) && a.constructor === b.constructor && a.id === b.id;
}

function isPlainType(value: Plain): value is PlainMap | PlainList | PlainText {
  return value instanceof PlainMap || value instanceof PlainList || value instanceof PlainText;
}

/** The model's readers must read the space after the update, as every device will. */
function readBack(doc: Y.Doc): Refused | null {
  try {
    getSpace(doc);
    listPartners(doc);
    for (const agreement of listAgreements(doc)) keepLog(doc, { agreementId: agreement.id });
    listQuestions(doc);
    listCheckins(doc);
    listBoundaries(doc);
    listShares(doc);
    listBreaks(doc);
    listReveals(doc);
    listRepairs(doc);
    listMeetings(doc);
    readDeviceNames(doc);
    return null;
  } catch {
    return schema('the model cannot read the space after it');
  }
}

function schema(detail: string): Refused {
  return new Refused(UpdateRefusal.schema, detail);
}
function others(place: string): Refused {
  return new Refused(UpdateRefusal.othersContent, `${place} is the other partner's`);
}
function immutable(place: string): Refused {
  return new Refused(UpdateRefusal.immutable, `${place} is set once and never changed`);
}
function appendOnly(place: string): Refused {
  return new Refused(UpdateRefusal.appendOnly, `${place} is append-only`);
}
