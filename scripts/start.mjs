#!/usr/bin/env node
// `pnpm start`: build whatever is missing, then run the server in this same process, so one Node
// process serves the web app, the HTTP API and the sync socket on one port (contract).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pnpm } from './pnpm.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outputs = [
  { name: '@mend/protocol', file: 'packages/protocol/dist/index.js' },
  { name: '@mend/model', file: 'packages/model/dist/index.js' },
  { name: '@mend/server', file: 'server/dist/main.js' },
  { name: '@mend/web', file: 'apps/web/build/200.html' },
];

for (const { name, file } of outputs) {
  if (existsSync(new URL(file, `file://${root}`))) continue;
  console.error(`[mend] building ${name} (missing ${file})`);
  if (pnpm(['--filter', name, 'run', 'build'], { cwd: root }) !== 0) {
    console.error(`[mend] could not build ${name}; see the output above.`);
    process.exit(1);
  }
}

await import(new URL('server/dist/main.js', `file://${root}`).href);
