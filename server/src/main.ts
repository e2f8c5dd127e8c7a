import { ConfigError, defaultWebDir, parseConfig } from './config.js';
import { createLogger } from './log.js';
import { createMendServer, type MendServer } from './MendServer.js';

/** Entry point: `node server/dist/main.js`. The only module that reads process.env. */

async function main(): Promise<void> {
  let config;
  try {
    config = parseConfig(process.env, defaultWebDir);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Mend cannot start: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  // Listen for signals before the server starts: one that arrives while it starts (e.g. right
  // after the "listening" line) must still stop it gracefully, not kill it half-way.
  let server: MendServer | null = null;
  let signalled: NodeJS.Signals | null = null;
  const shutdown = (running: MendServer): void => {
    log.info({ signal: signalled }, 'signal received');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = signal;
    // Still starting: the start below stops the server as soon as it is up.
    if (server) shutdown(server);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const created = await createMendServer(config, { log });
    await created.start();
    server = created;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Mend cannot start: ${error.message}\n`);
    } else {
      log.fatal({ err: error }, 'could not start');
      const where = config.databaseUrl
        ? 'the database at DATABASE_URL'
        : `MEND_DATA_DIR (${config.dataDir})`;
      process.stderr.write(
        `Mend cannot start: ${(error as Error).message}. Check ${where}, PORT and HOST.\n`,
      );
    }
    process.exit(1);
  }
  if (signalled) shutdown(server);
}

process.on('uncaughtException', (error) => {
  process.stderr.write(`Mend stopped after an unexpected error: ${error.stack ?? error.message}\n`);
  process.exit(1);
});

void main();
