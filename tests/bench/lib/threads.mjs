// Per-thread CPU of a process, to tell the event loop from GC, worker and I/O threads.
import { readdirSync, readFileSync } from 'node:fs';

export function threadTimes(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      out[`${name}#${tid}`] = ticks;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

export function threadDelta(before, after) {
  const delta = {};
  for (const [key, ticks] of Object.entries(after)) {
    const d = ticks - (before[key] ?? 0);
    if (d > 0) delta[key.replace(/#\d+$/, '')] = (delta[key.replace(/#\d+$/, '')] ?? 0) + d;
  }
  return delta;
}
