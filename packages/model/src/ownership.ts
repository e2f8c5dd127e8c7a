import { Refused, UpdateRefusal } from './AuthorshipCheck.js';
import type { PartnerId } from './ids.js';
import { PlainList, PlainMap, canonical, type Plain } from './plainSnapshot.js';
import { parseDayKey } from './valueChecks.js';

// What belongs to whom, read from plain snapshots independently of the rule table: the replica
// oracle (authorshipOracle.ts) refuses an update that changes what another partner owns.

interface Owned {
  /** Must be the same before and after. */
  readonly fixed: Map<string, string>;
  /**
   * May disappear, not change or appear: acknowledgements of the author's own boundaries, marks
   * heard on the author's own shares.
   */
  readonly removable: Map<string, string>;
}

/** Everything in a space that belongs to a partner other than `author`, by path. */
export function ownedByOthers(space: ReadonlyMap<string, Plain>, author: PartnerId): Owned {
  const owned: Owned = { fixed: new Map(), removable: new Map() };
  const put = (path: string, value: Plain) => owned.fixed.set(path, canonical(value));
  for (const [id, partner] of entries(space.get('partners'))) {
    if (id !== author) put(`partners/${id}`, partner);
  }
  for (const [id, a] of entries(space.get('agreements'))) {
    for (const [p, acceptance] of entries(field(a, 'acceptances'))) {
      if (p !== author) put(`agreements/${id}/acceptances/${p}`, acceptance);
    }
    for (const e of elements(field(a, 'history'))) {
      if (json(e.value, 'acceptedBy') !== author) put(`agreements/${id}/history/${e.id}`, e.value);
    }
    for (const e of elements(field(a, 'keepLog'))) {
      if (json(e.value, 'partnerId') !== author) put(`agreements/${id}/keepLog/${e.id}`, e.value);
    }
  }
  for (const [id, q] of entries(space.get('questions'))) {
    if (field(q, 'askedBy') !== author) put(`questions/${id}/text`, field(q, 'text'));
    for (const e of elements(field(q, 'answers'))) {
      if (field(e.value, 'by') !== author) put(`questions/${id}/answers/${e.id}`, e.value);
    }
    for (const [p, marker] of entries(field(q, 'readMarkers'))) {
      if (p !== author) put(`questions/${id}/readMarkers/${p}`, marker);
    }
  }
  for (const [key, checkin] of entries(space.get('checkins'))) {
    if ((parseDayKey(key)?.partnerId ?? null) !== author) put(`checkins/${key}`, checkin);
  }
  for (const [id, b] of entries(space.get('boundaries'))) {
    const ack = field(b, 'acknowledgement');
    if (field(b, 'owner') === author) {
      if (ack !== undefined && json(ack, 'by') !== author) {
        owned.removable.set(`boundaries/${id}/acknowledgement`, canonical(ack));
      }
      continue;
    }
    // The acknowledgement of another's boundary is the author's to write.
    const rest = [...entries(b)].filter(([key]) => key !== 'acknowledgement');
    put(`boundaries/${id}`, rest.map(([key, v]) => `${key}=${canonical(v)}`).join(';'));
  }
  for (const [key, share] of entries(space.get('shares'))) {
    const heard = field(share, 'heard');
    if ((parseDayKey(key)?.partnerId ?? null) === author) {
      // The listener's mark on the author's share goes only with the share, when a share from
      // the author's other device replaces it (SPEC.md, "Known limits (by design)").
      if (heard !== undefined && json(heard, 'by') !== author) {
        owned.removable.set(`shares/${key}/heard`, canonical(heard));
      }
      continue;
    }
    // The mark on another's share is the author's to write.
    const rest = [...entries(share)].filter(([name]) => name !== 'heard');
    put(`shares/${key}`, rest.map(([name, v]) => `${name}=${canonical(v)}`).join(';'));
  }
  for (const [id, b] of entries(space.get('breaks'))) {
    if (field(b, 'by') !== author) put(`breaks/${id}`, b);
  }
  for (const [id, r] of entries(space.get('reveals'))) {
    // The reveal's own fields are set once; what is in it is each partner's own.
    if (field(r, 'createdBy') !== author) {
      const own = [...entries(r)].filter(([key]) => !REVEAL_PARTS.includes(key));
      put(`reveals/${id}`, own.map(([key, v]) => `${key}=${canonical(v)}`).join(';'));
    }
    for (const part of ['answers', 'keys'] as const) {
      for (const [p, value] of entries(field(r, part))) {
        if (p !== author) put(`reveals/${id}/${part}/${p}`, value);
      }
    }
    for (const e of elements(field(r, 'followUps'))) {
      if (json(e.value, 'by') !== author) put(`reveals/${id}/followUps/${e.id}`, e.value);
    }
  }
  for (const [id, r] of entries(space.get('repairs'))) {
    // The repair's own fields are set once; step five and its drafts are each partner's own,
    // the completion either's.
    if (field(r, 'startedBy') !== author) {
      const own = [...entries(r)].filter(([key]) => !REPAIR_PARTS.includes(key));
      put(`repairs/${id}`, own.map(([key, v]) => `${key}=${canonical(v)}`).join(';'));
    }
    for (const e of elements(field(r, 'nextTime'))) {
      if (json(e.value, 'by') !== author) put(`repairs/${id}/nextTime/${e.id}`, e.value);
    }
    for (const [p, value] of entries(field(r, 'drafts'))) {
      if (p !== author) put(`repairs/${id}/drafts/${p}`, value);
    }
  }
  for (const [key, part] of entries(space.get('meetings'))) {
    if ((parseDayKey(key)?.partnerId ?? null) !== author) put(`meetings/${key}`, part);
  }
  for (const [key, device] of entries(space.get('devices'))) {
    if (field(device, 'partnerId') !== author) put(`devices/${key}`, device);
  }
  return owned;
}

const REPAIR_PARTS = ['nextTime', 'drafts', 'completed'];
const REVEAL_PARTS = ['answers', 'keys', 'followUps'];

export function compareOwned(
  before: ReadonlyMap<string, Plain>,
  after: ReadonlyMap<string, Plain>,
  author: PartnerId,
): Refused | null {
  const was = ownedByOthers(before, author);
  const is = ownedByOthers(after, author);
  for (const path of new Set([...was.fixed.keys(), ...is.fixed.keys()])) {
    if (was.fixed.get(path) !== is.fixed.get(path)) {
      return new Refused(UpdateRefusal.othersContent, `${path} is the other partner's`);
    }
  }
  for (const [path, value] of is.removable) {
    if (was.removable.get(path) !== value) {
      return new Refused(UpdateRefusal.othersContent, `${path} is the other partner's`);
    }
  }
  return null;
}

function entries(value: Plain): Iterable<[string, Plain]> {
  return value instanceof PlainMap ? value.entries : [];
}

function elements(value: Plain): readonly { id: string; value: Plain }[] {
  return value instanceof PlainList ? value.elements : [];
}

export function field(value: Plain, key: string): Plain {
  return value instanceof PlainMap ? value.entries.get(key) : undefined;
}

function json(value: Plain, key: string): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}
