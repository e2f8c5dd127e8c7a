import { ConfigError, defaultWebDir, parseConfig } from './config.js';
import { createLogger } from './log.js';
import { createMendServer } from './MendServer.js';

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
  let server;
  try {
    server = await createMendServer(config, { log });
    await server.start();
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
  const running = server;
  let signalled = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'signal received');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

process.on('uncaughtException', (error) => {
  process.stderr.write(`Mend stopped after an unexpected error: ${error.stack ?? error.message}\n`);
  process.exit(1);
});

void main();
