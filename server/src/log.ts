import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/**
 * JSON lines on stdout. Call sites log ids and sizes only; the redaction is a second line of
 * defence so a token, cookie or invite code can never reach a log even by mistake.
 *
 * Written synchronously: pino's default buffered stdout flushes at exit in a loop that retries a
 * broken pipe for ever, so a server whose log reader went away (a restarted log shipper,
 * `mend | tee` with tee gone) could not stop. A synchronous write that meets a broken pipe is
 * dropped, and logging stops quietly; the server keeps serving. At the rate Mend logs (ids and
 * reasons, not traffic) a synchronous line costs microseconds.
 */
export function createLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { service: 'mend-server' },
      redact: {
        paths: [
          'token',
          'inviteCode',
          'authorization',
          'cookie',
          '*.token',
          '*.inviteCode',
          'headers.authorization',
          'headers.cookie',
          '*.headers.authorization',
          '*.headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}
