// A V8 heap snapshot summed by constructor: what the retained objects of a server are made of.
import { readFileSync } from 'node:fs';

export function heapByConstructor(file, limit = 30) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const { nodes, strings } = snapshot;
  const totals = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const size = nodes[i + sizeAt];
    total += size;
    const name = type === 'object' || type === 'closure' ? strings[nodes[i + nameAt]] : `(${type})`;
    const entry = totals.get(name) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += size;
    totals.set(name, entry);
  }
  const all = [...totals]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .map(([name, { count, bytes }]) => ({ name, count, bytes }));
  return { totalBytes: total, top: all.slice(0, limit), all };
}

/** What N idle couples added to the heap, per couple and by constructor. */
export function heapPerCouple(before, after, couples, limit = 20) {
  const base = new Map(before.all.map((e) => [e.name, e]));
  const rows = after.all
    .map((e) => ({
      name: e.name,
      countPerCouple: Number(((e.count - (base.get(e.name)?.count ?? 0)) / couples).toFixed(2)),
      bytesPerCouple: Math.round((e.bytes - (base.get(e.name)?.bytes ?? 0)) / couples),
    }))
    .filter((e) => e.bytesPerCouple > 0)
    .sort((a, b) => b.bytesPerCouple - a.bytesPerCouple);
  return {
    bytesPerCouple: Math.round((after.totalBytes - before.totalBytes) / couples),
    top: rows.slice(0, limit),
  };
}
