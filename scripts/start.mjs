#!/usr/bin/env node
// `pnpm start`: build whatever is missing, then run the server in this same process, so one Node
// process serves the web app, the HTTP API and the sync socket on one port (contract).
import { fileURLToPath } from 'node:url';
import { buildMissing } from './pnpm.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outputs = [
  { name: '@mend/protocol', file: 'packages/protocol/dist/index.js' },
  { name: '@mend/model', file: 'packages/model/dist/index.js' },
  { name: '@mend/server', file: 'server/dist/main.js' },
  { name: '@mend/web', file: 'apps/web/build/200.html' },
];

try {
  buildMissing(outputs);
} catch (error) {
  console.error(`[mend] ${error.message}`);
  process.exit(1);
}

await import(new URL('server/dist/main.js', `file://${root}`).href);
