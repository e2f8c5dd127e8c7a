import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/**
 * JSON lines on stdout. Call sites log ids and sizes only; the redaction is a second line of
 * defence so a token, cookie or invite code can never reach a log even by mistake.
 */
export function createLogger(level: LogLevel): Logger {
  return pino({
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
  });
}
