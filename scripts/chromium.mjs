// Debian's Chromium for the browser tests and the browser benchmark. Playwright's own download
// is never used (it needs the internet); as root, a missing Chromium is installed with apt-get.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const chromiumPath = process.env.MEND_CHROMIUM ?? '/usr/bin/chromium';

/** Launch flags: it runs as root in a container, without a GPU, and fetches nothing of its own. */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Makes sure Chromium is there, installing Debian's package if it can. Returns whether it is. */
export function ensureChromium(log = console.log) {
  if (existsSync(chromiumPath)) return true;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get >/dev/null 2>&1']).status === 0;
  if (isRoot && hasApt) {
    log("Chromium is missing: installing Debian's chromium package.");
    spawnSync(
      'sh',
      [
        '-c',
        'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null',
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  }
  if (existsSync(chromiumPath)) return true;
  log(
    `No Chromium at ${chromiumPath}: install it (apt-get install chromium) or set MEND_CHROMIUM.`,
  );
  return false;
}
