import * as Y from 'yjs';
import type { PartnerId } from './ids.js';
import { keyValueAfter } from './mapKeyOutcome.js';
import type { Container, Placement, Spot } from './Placement.js';
import { rootSpec } from './authorshipRules.js';
import {
  entryOwner,
  may,
  ruleAt,
  Who,
  type ContainerSpec,
  type FieldRule,
  type RecordView,
  type Requirement,
} from './ruleSpecs.js';
import type { LeafRule } from './valueChecks.js';

/** Why a remote update is not applied. */
export const UpdateRefusal = {
  /** Not a complete, safe Yjs v1 update (garbage, truncated, unsafe clocks, cycles...). */
  malformed: 'malformed',
  /** Builds on changes this replica does not have (or set aside). */
  missingDependencies: 'missing-dependencies',
  /** Written under a Yjs client id the author's device does not own. */
  foreignClient: 'foreign-client',
  /** Inserts, changes or deletes what belongs to the other partner, or writes in their name. */
  othersContent: 'others-content',
  /** Rewrites or removes something that is set once (ids, authors, creation times...). */
  immutable: 'immutable',
  /** Deletes from an append-only history (acceptances, keep log, question threads). */
  appendOnly: 'append-only',
  /** A value, field, place or top-level type the schema does not have, or a required one missing. */
  schema: 'schema',
  /**
   * Written before what it must follow, or not matching it: a reveal's key before both partners
   * answered, or not the key the answer was sealed with; a follow-up before the reveal.
   */
  precondition: 'precondition',
} as const;
export type UpdateRefusal = (typeof UpdateRefusal)[keyof typeof UpdateRefusal];

/** Leaves the check at the first problem; caught in `run`, never thrown further. */
export class Refused {
  constructor(
    readonly reason: UpdateRefusal,
    readonly detail: string,
  ) {}
}

/** What the rules know of a container: its spec (null: nothing may be written), whose it is. */
interface Scope {
  readonly spec: ContainerSpec | null;
  readonly owner: string | null;
  /** The key it sits under in its parent: an entity's id, a check-in key. */
  readonly key: string | null;
  /** For details: `agreements/<id>/keepLog`. Keys only, never content. */
  readonly path: string;
}

/** A value whose rule has a requirement, judged once the rest of the update has passed. */
interface Pending {
  readonly requires: Requirement;
  readonly value: unknown;
  /** The container it is written in. */
  readonly container: Container;
  readonly place: string;
}

/** What the update does to one key of one map. */
interface KeyWrites {
  readonly inserted: Y.Item[];
  /** It deletes the key's current value (in the document, or one it inserts itself). */
  deletes: boolean;
}

/**
 * The fast check of one update's authorship and schema, on the structs it carries: each
 * inserted item and each deleted item is mapped to the place it touches (Placement) and judged
 * by the rule table (authorshipRules). Cost: linear in the update's structs and deletions, with
 * a few binary searches and map look-ups in the document each; nothing is copied or applied.
 */
export class AuthorshipCheck {
  readonly #placement: Placement;
  readonly #author: PartnerId;
  readonly #scopes = new Map<Container, Scope>();
  readonly #writes = new Map<Container, Map<string, KeyWrites>>();
  readonly #pending: Pending[] = [];

  constructor(placement: Placement, author: PartnerId) {
    this.#placement = placement;
    this.#author = author;
  }

  /** Null when the update may be applied, else the first problem, in update order. */
  run(): Refused | null {
    try {
      const spots = this.#placement.fresh.map((item) => this.#placement.spotOf(item));
      this.#placement.fresh.forEach((item, i) => {
        const spot = spots[i]!;
        if (spot?.key != null) this.#writesAt(spot.container, spot.key).inserted.push(item);
      });
      this.#placement.fresh.forEach((item, i) => this.#insertion(item, spots[i]!));
      for (const range of this.#placement.deletions) {
        for (const item of this.#placement.deletedItems(range)) this.#deletion(item);
      }
      this.#removals();
      this.#creations(spots);
      this.#limits();
      this.#requirements();
      return null;
    } catch (error) {
      if (error instanceof Refused) return error;
      throw error;
    }
  }

  #insertion(item: Y.Item, spot: Spot | null): void {
    if (spot === null) return; // integrated as garbage: changes nothing
    const scope = this.#scopeOf(spot.container);
    const { rule, owner, place } = this.#ruleFor(scope, spot.key);
    if (!may(rule.write, owner, this.#author)) throw othersContent(place, owner);
    const content = item.content;
    const spec = scope.spec!;
    if (spec.kind === 'text') {
      if (content instanceof Y.ContentString || content instanceof Y.ContentDeleted) return;
      throw schema(`${place} must hold plain characters only`);
    }
    // Y.Map.set never gives an item a right origin; one with it can land where no value is.
    if (spot.key !== null && item.rightOrigin !== null) {
      throw schema(`${place} is not written the way a map value is`);
    }
    if (content instanceof Y.ContentDeleted) {
      // Written and deleted before it was sent: a write whose value is gone, so at a key it
      // removes the value before it (`#removals`).
      if (spec.kind === 'list') throw appendOnly(place);
      if (rule.once) throw immutable(place);
      this.#writesAt(spot.container, spot.key!).deletes = true;
      return;
    }
    this.#value(rule, content, spec.kind === 'list', scope, place);
    if (rule.requires && content instanceof Y.ContentAny) {
      for (const value of content.getContent()) {
        this.#pending.push({ requires: rule.requires, value, container: spot.container, place });
      }
    }
    if (rule.once && spot.key !== null) {
      if (this.#writesAt(spot.container, spot.key).inserted.length > 1) throw immutable(place);
      if (this.#placement.wasSet(spot.container, spot.key)) throw immutable(place);
    }
  }

  #value(
    rule: FieldRule,
    content: Y.Item['content'],
    isElement: boolean,
    scope: Scope,
    place: string,
  ): void {
    const value = rule.value;
    if (value.kind !== 'leaf') {
      const type = content instanceof Y.ContentType ? content.type : null;
      if (!type || type.constructor !== TYPE_OF[value.kind]) {
        throw schema(`${place} must hold a ${value.name}`);
      }
      return;
    }
    if (!(content instanceof Y.ContentAny)) throw schema(`${place} must hold a plain value`);
    const values = content.getContent();
    if (!isElement && values.length !== 1) throw schema(`${place} must hold one value`);
    for (const v of values) this.#leaf(value, v, scope, place);
  }

  #leaf(rule: LeafRule, value: unknown, scope: Scope, place: string): void {
    const wrong = rule.check(value, { recordKey: scope.key });
    if (wrong !== null) throw schema(`${place} must hold ${wrong}`);
    if (rule.names && rule.names(value) !== this.#author) {
      throw new Refused(
        UpdateRefusal.othersContent,
        `${place} is written in the other partner's name`,
      );
    }
  }

  #deletion(item: Y.Item): void {
    const spot = this.#placement.spotOf(item);
    if (spot === null) return;
    const holder = spot.container;
    // Deleting a type deletes everything in it; the deletion of the type itself is judged.
    if (
      typeof holder !== 'string' &&
      (holder.deleted || this.#placement.deletedByUpdate(holder.id))
    ) {
      return;
    }
    const scope = this.#scopeOf(holder);
    const { rule, owner, place } = this.#ruleFor(scope, spot.key);
    const spec = scope.spec!;
    if (spec.kind === 'text') {
      if (!may(rule.write, owner, this.#author)) throw othersContent(place, owner);
      return;
    }
    if (spec.kind === 'list') throw appendOnly(place);
    if (
      !may(rule.write, owner, this.#author) &&
      !may(rule.remove ?? Who.nobody, owner, this.#author)
    ) {
      throw othersContent(place, owner);
    }
    if (rule.once) throw immutable(place);
    this.#writesAt(holder, spot.key!).deletes = true;
  }

  /**
   * A key that held a value and holds none once the update is in is removed; whether it holds
   * one is decided as Yjs decides it (mapKeyOutcome), since a crafted write can lose to what it
   * seems to replace.
   */
  #removals(): void {
    for (const [container, keys] of this.#writes) {
      for (const [key, writes] of keys) {
        if (!writes.deletes) continue;
        const before = this.#placement.writtenAt(container, key);
        const tip = before[before.length - 1];
        const heldValue = tip !== undefined && !tip.deleted;
        if (!heldValue || this.#holdsValueAfter(container, key, before)) continue;
        const { rule, owner, place } = this.#ruleFor(this.#scopeOf(container), key);
        if (may(rule.remove ?? Who.nobody, owner, this.#author)) continue;
        if (!may(rule.write, owner, this.#author)) throw othersContent(place, owner);
        throw schema(`${place} is required`);
      }
    }
  }

  /** A map the update creates is created whole: every required field holds a value. */
  #creations(spots: readonly (Spot | null)[]): void {
    this.#placement.fresh.forEach((item, i) => {
      const spot = spots[i]!;
      if (spot === null || !(item.content instanceof Y.ContentType)) return;
      if (this.#placement.deletedByUpdate(item.id)) return;
      const spec = this.#scopeOf(item).spec;
      if (spec?.kind !== 'map') return;
      for (const key of spec.required) {
        if (!this.#holdsValueAfter(item, key, [])) {
          throw schema(`a new ${spec.name} is written without its ${key}`);
        }
      }
    });
  }

  #holdsValueAfter(container: Container, key: string, before: readonly Y.Item[]): boolean {
    return this.#valueAfter(container, key, before) !== null;
  }

  /** The item that holds `key`'s value once the update is in, or null. */
  #valueAfter(container: Container, key: string, before: readonly Y.Item[]): Y.Item | null {
    const fresh = this.#writes.get(container)?.get(key)?.inserted ?? [];
    const value = keyValueAfter(before, fresh, (id) => this.#placement.deletedByUpdate(id));
    if (value === undefined) throw schema(`${shown(key)} is not written the way a map value is`);
    return value;
  }

  /**
   * The requirements of what the update writes, on the record as it will be (everything else in
   * the update has passed, so what they read is what every device will hold).
   */
  #requirements(): void {
    for (const { requires, value, container, place } of this.#pending) {
      const holder = typeof container === 'string' ? null : this.#placement.spotOf(container);
      const wrong = requires(value, this.#recordView(holder?.container ?? null), this.#author);
      if (wrong !== null)
        throw new Refused(UpdateRefusal.precondition, `${place} must be ${wrong}`);
    }
  }

  #recordView(record: Container | null): RecordView {
    // The item (or root) at `path` below the record once the update is in, or null.
    const at = (path: readonly string[]): Container | null => {
      let here: Container | null = record;
      for (const key of path) {
        if (here === null || (here instanceof Y.Item && !(here.content instanceof Y.ContentType))) {
          return null;
        }
        here = this.#valueAfter(here, key, this.#placement.writtenAt(here, key));
      }
      return here;
    };
    return {
      value: (path) => {
        const item = path.length === 0 ? null : at(path);
        if (!(item instanceof Y.Item) || !(item.content instanceof Y.ContentAny)) return undefined;
        const values = item.content.getContent();
        return values[values.length - 1];
      },
      keys: (path) => {
        const map = at(path);
        if (map === null || (map instanceof Y.Item && !(map.content instanceof Y.ContentType))) {
          return [];
        }
        const candidates = new Set([
          ...(this.#placement.typeOf(map)?._map.keys() ?? []),
          ...(this.#writes.get(map)?.keys() ?? []),
        ]);
        return [...candidates].filter(
          (key) => this.#valueAfter(map, key, this.#placement.writtenAt(map, key)) !== null,
        );
      },
    };
  }

  /** Dicts with a limit (two partners) hold at most that many live entries. */
  #limits(): void {
    for (const [container, keys] of this.#writes) {
      const spec = this.#scopeOf(container).spec;
      if (spec?.kind !== 'dict' || spec.limit === undefined) continue;
      const live = new Set<string>();
      for (const key of this.#placement.typeOf(container)?._map.keys() ?? []) {
        if (this.#placement.wasSet(container, key)) live.add(key);
      }
      for (const [key, writes] of keys) {
        if (writes.inserted.some((i) => !(i.content instanceof Y.ContentDeleted))) live.add(key);
      }
      if (live.size > spec.limit) throw schema(`${spec.name} holds at most ${spec.limit}`);
    }
  }

  #ruleFor(
    scope: Scope,
    key: string | null,
  ): { rule: FieldRule; owner: string | null; place: string } {
    const place = `${scope.path}/${key === null ? '[]' : shown(key)}`;
    if (!scope.spec) throw schema(`${scope.path} is not a place in a space`);
    const rule = ruleAt(scope.spec, key);
    if (!rule) throw schema(`${place} is not a place in a space`);
    return { rule, owner: entryOwner(scope.spec, key, scope.owner), place };
  }

  #scopeOf(container: Container): Scope {
    const known = this.#scopes.get(container);
    if (known) return known;
    let scope: Scope;
    if (typeof container === 'string') {
      scope = { spec: rootSpec(container), owner: null, key: null, path: shown(container) };
    } else {
      const spot = this.#placement.spotOf(container);
      const parent = spot && this.#scopeOf(spot.container);
      const rule = parent?.spec ? ruleAt(parent.spec, spot!.key) : null;
      const spec = rule && rule.value.kind !== 'leaf' ? rule.value : null;
      const inherited = parent?.spec ? entryOwner(parent.spec, spot!.key, parent.owner) : null;
      scope = {
        spec,
        owner:
          spec?.kind === 'map' && spec.owner ? this.#fieldOf(container, spec.owner) : inherited,
        key: spot?.key ?? null,
        path: `${parent?.path ?? '?'}/${spot?.key == null ? '[]' : shown(spot.key)}`,
      };
    }
    this.#scopes.set(container, scope);
    return scope;
  }

  /** A record's field as a string (its owner), from the document or from the update. */
  #fieldOf(container: Y.Item, field: string): string | null {
    const inDoc = this.#placement.isFresh(container)
      ? undefined
      : this.#placement.typeOf(container)?._map.get(field);
    const item =
      inDoc && !inDoc.deleted
        ? inDoc
        : this.#writes
            .get(container)
            ?.get(field)
            ?.inserted.findLast((i) => i.content instanceof Y.ContentAny);
    const values = item?.content instanceof Y.ContentAny ? item.content.getContent() : [];
    const value: unknown = values[values.length - 1];
    return typeof value === 'string' ? value : null;
  }

  #writesAt(container: Container, key: string): KeyWrites {
    let keys = this.#writes.get(container);
    if (!keys) this.#writes.set(container, (keys = new Map()));
    let writes = keys.get(key);
    if (!writes) keys.set(key, (writes = { inserted: [], deletes: false }));
    return writes;
  }
}

const TYPE_OF: Readonly<Record<ContainerSpec['kind'], unknown>> = {
  map: Y.Map,
  dict: Y.Map,
  list: Y.Array,
  text: Y.Text,
};

/** A key as it may appear in a detail: keys are ids and field names, but a forger picks them. */
function shown(key: string): string {
  return key.length > 64 ? `${key.slice(0, 64)}…` : key;
}

function othersContent(place: string, owner: string | null): Refused {
  return new Refused(
    UpdateRefusal.othersContent,
    owner === null
      ? `${place} may not be written by this partner`
      : `${place} is the other partner's`,
  );
}

function immutable(place: string): Refused {
  return new Refused(UpdateRefusal.immutable, `${place} is set once and never changed`);
}

function appendOnly(place: string): Refused {
  return new Refused(UpdateRefusal.appendOnly, `${place} is append-only`);
}

function schema(detail: string): Refused {
  return new Refused(UpdateRefusal.schema, detail);
}
