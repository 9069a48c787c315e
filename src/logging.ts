import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout, one line per event, as Kubernetes log collectors expect.
 * Written asynchronously: a synchronous write per request line was a tenth of a
 * worker's CPU per request (bench/profiles). Lines logged while a write is in flight go
 * out together in the next one, and pino flushes what is left when the process exits.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: 'agentstate' }, timestamp: pino.stdTimeFunctions.isoTime };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
