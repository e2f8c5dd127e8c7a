// A .cpuprofile read the way a person would: where the self time went, by function.
import { readFileSync } from 'node:fs';

export function topFunctions(file, limit = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const packages = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const where = url
      ? `${url.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^file:\/\/.*\/(server|packages)\//, '$1/')}:${lineNumber + 1}`
      : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    const pkg =
      functionName === '(idle)' ||
      functionName === '(garbage collector)' ||
      functionName === '(program)'
        ? functionName
        : (/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
          (/\/server\/dist\//.test(url)
            ? 'mend server'
            : /\/packages\//.test(url)
              ? 'mend packages'
              : /\/_app\/immutable\//.test(url)
                ? `web app ${url.replace(/^.*\/_app\/immutable\//, '')}`
                : url.startsWith('node:') || url === ''
                  ? 'node internals'
                  : 'other'));
    packages.set(pkg, (packages.get(pkg) ?? 0) + dt);
  });
  return {
    totalMs: Math.round(total / 1000),
    byPackage: [...packages]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 1000),
        share: Number((us / total).toFixed(3)),
      })),
    top: [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([fn, us]) => ({
        fn,
        ms: Math.round(us / 1000),
        share: Number((us / total).toFixed(3)),
      })),
  };
}
