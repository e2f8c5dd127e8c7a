import * as Y from 'yjs';
import type { SharedType } from './Placement.js';

/*
 * A space's document as plain values that keep what the authorship oracle needs and JSON
 * loses: which Y type held a value, the identity of each map and list element (so a replaced
 * map or a moved element shows), and anything a plain reading would hide (formatting in a
 * text, list elements in a map).
 */

export class PlainMap {
  constructor(
    readonly id: string,
    readonly entries: ReadonlyMap<string, Plain>,
    /** It also holds sequence elements, which no reader sees. */
    readonly odd: boolean,
  ) {}
}

export class PlainList {
  constructor(
    readonly id: string,
    readonly elements: readonly { readonly id: string; readonly value: Plain }[],
    readonly odd: boolean,
  ) {}
}

export class PlainText {
  constructor(
    readonly id: string,
    readonly text: string,
    /** It holds something besides plain characters (formatting, embeds, types, keys). */
    readonly odd: boolean,
  ) {}
}

/** Content that is not a Y type nor a JSON value (binary, a sub-document, a stray string). */
export class PlainOther {
  constructor(readonly kind: string) {}
}

export type Plain = PlainMap | PlainList | PlainText | PlainOther | unknown;

const idOf = (item: Y.Item | null, offset = 0): string =>
  item ? `${item.id.client}:${item.id.clock + offset}` : 'root';

/** Every top-level type that holds something, by name. */
export function snapshotOf(doc: Y.Doc): Map<string, Plain> {
  const out = new Map<string, Plain>();
  for (const [name, type] of doc.share) {
    const plain = plainOfType(type);
    const empty =
      (plain instanceof PlainMap && plain.entries.size === 0 && !plain.odd) ||
      (plain instanceof PlainList && plain.elements.length === 0 && !plain.odd) ||
      (plain instanceof PlainText && plain.text === '' && !plain.odd);
    if (!empty) out.set(name, plain);
  }
  return out;
}

/** A root Yjs has not typed yet (an update made it, no code asked for it) reads as a map. */
function plainOfType(type: SharedType): Plain {
  const id = idOf(type._item);
  const hasKeys = [...type._map.values()].some((item) => !item.deleted);
  const elements: { id: string; value: Plain }[] = [];
  let text = '';
  let textOdd = hasKeys;
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted) continue;
    const content = item.content;
    if (content instanceof Y.ContentString) {
      text += content.str;
      elements.push({ id: idOf(item), value: new PlainOther('characters') });
      continue;
    }
    textOdd = true;
    if (content instanceof Y.ContentAny) {
      content.arr.forEach((value, i) => elements.push({ id: idOf(item, i), value }));
    } else elements.push({ id: idOf(item), value: plainOfContent(content) });
  }
  if (type.constructor === Y.Text) return new PlainText(id, text, textOdd);
  if (type.constructor === Y.Array) return new PlainList(id, elements, hasKeys);
  if (type.constructor !== Y.Map && type._item !== null) {
    return new PlainOther(type.constructor.name);
  }
  const entries = new Map<string, Plain>();
  for (const [key, item] of type._map) {
    if (item.deleted) continue;
    const content = item.content;
    entries.set(
      key,
      content instanceof Y.ContentAny
        ? content.arr[content.arr.length - 1]
        : plainOfContent(content),
    );
  }
  return new PlainMap(id, entries, elements.length > 0);
}

function plainOfContent(content: Y.Item['content']): Plain {
  if (content instanceof Y.ContentType) {
    return plainOfType(content.type);
  }
  return new PlainOther(content.constructor.name);
}

/** Deep equality of plain values, identities included. */
export function samePlain(a: Plain, b: Plain): boolean {
  if (a === b) return true;
  if (a instanceof PlainMap && b instanceof PlainMap) {
    if (a.id !== b.id || a.odd !== b.odd || a.entries.size !== b.entries.size) return false;
    for (const [key, value] of a.entries) {
      if (!b.entries.has(key) || !samePlain(value, b.entries.get(key))) return false;
    }
    return true;
  }
  if (a instanceof PlainList && b instanceof PlainList) {
    return (
      a.id === b.id &&
      a.odd === b.odd &&
      a.elements.length === b.elements.length &&
      a.elements.every(
        (e, i) => e.id === b.elements[i]!.id && samePlain(e.value, b.elements[i]!.value),
      )
    );
  }
  if (a instanceof PlainText && b instanceof PlainText) {
    return a.id === b.id && a.text === b.text && a.odd === b.odd;
  }
  if (a instanceof PlainOther && b instanceof PlainOther) return a.kind === b.kind;
  return canonical(a) === canonical(b);
}

/** A stable text for a plain value: keys sorted, identities kept. */
export function canonical(value: Plain): string {
  if (value instanceof PlainMap) {
    const keys = [...value.entries.keys()].sort();
    return `map ${value.id}${value.odd ? '!' : ''}{${keys
      .map((k) => `${JSON.stringify(k)}:${canonical(value.entries.get(k))}`)
      .join(',')}}`;
  }
  if (value instanceof PlainList) {
    return `list ${value.id}${value.odd ? '!' : ''}[${value.elements
      .map((e) => `${e.id}=${canonical(e.value)}`)
      .join(',')}]`;
  }
  if (value instanceof PlainText) {
    return `text ${value.id}${value.odd ? '!' : ''}${JSON.stringify(value.text)}`;
  }
  if (value instanceof PlainOther) return `other ${value.kind}`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `bytes ${[...value].join(' ')}`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const proto = Object.getPrototypeOf(value) === Object.prototype ? '' : 'proto';
    const keys = Object.keys(value).sort();
    return `${proto}{${keys
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? String(value);
}
