import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout, one line per event, as Kubernetes log collectors expect. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: 'agentstate' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination === undefined ? pino(options) : pino(options, destination);
}
