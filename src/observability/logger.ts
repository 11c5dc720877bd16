import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs on stdout; one line per record, ready for any log pipeline. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { app: 'sluice' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
