import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout, one line per event, as Kubernetes log collectors expect.
 * Written asynchronously and in batches: a write per request line was a tenth of a
 * worker's CPU per request, then still 7% written asynchronously one line at a time
 * (bench/profiles: a system call on this VM costs as much as routing a request). Lines
 * wait until 4 KiB are buffered or a quarter of a second has passed, and pino flushes
 * what is left when the process exits; a SIGKILL loses at most that quarter second.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: 'agentstate' }, timestamp: pino.stdTimeFunctions.isoTime };
  return pino(options, destination ?? logDestination(1));
}

/** Where the logs go (a file descriptor or a path), written as described above. */
export function logDestination(dest: number | string): pino.DestinationStream {
  return pino.destination({ dest, sync: false, minLength: 4096, periodicFlush: 250 });
}
