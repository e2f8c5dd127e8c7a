#!/usr/bin/env node
import { AdminError, backup, deleteSpace, repairSpace, restore } from './adminCommands.js';
import { ConfigError, defaultWebDir, parseConfig } from './config.js';

/**
 * Operator commands: `node server/dist/admin.js backup <file> | restore <file> |
 * delete-space <spaceId> | repair-space <spaceId>`. An entry point like main.ts, so it reads the
 * environment itself (same variables as the server). See server/README.md.
 */

const USAGE = `Usage:
  node server/dist/admin.js backup <file>            copy the SQLite database to <file> (safe while running)
  node server/dist/admin.js restore <file>           replace the database with a backup (server stopped)
  node server/dist/admin.js delete-space <spaceId>   delete a space and all its data, for good
  node server/dist/admin.js repair-space <spaceId>   drop stored updates that leave a space unreadable
`;

async function main(args: string[]): Promise<string> {
  const [command, argument] = args;
  const config = parseConfig(process.env, defaultWebDir);
  if (argument !== undefined && args.length === 2) {
    if (command === 'backup') return backup(config, argument);
    if (command === 'restore') return restore(config, argument);
    if (command === 'delete-space') return deleteSpace(config, argument);
    if (command === 'repair-space') return repairSpace(config, argument);
  }
  process.stderr.write(USAGE);
  process.exit(2);
}

main(process.argv.slice(2)).then(
  (message) => process.stdout.write(`${message}\n`),
  (error: unknown) => {
    if (error instanceof AdminError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`The command failed: ${(error as Error).message}\n`);
    }
    process.exit(1);
  },
);
