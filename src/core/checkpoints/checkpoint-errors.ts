import { AppError } from '../errors.ts';

/** `KeyNotFound` for a write that continues a thread that was deleted or has expired. */
export function threadGone(thread: string, what: string): AppError {
  return new AppError(
    'KeyNotFound',
    `${what} refused: thread ${JSON.stringify(thread.slice(0, 80))} was deleted or has expired`,
    {
      details: { thread_id: thread },
      recovery: [
        {
          action: 'start_thread',
          description: 'Start the thread again without a parent checkpoint, or use another thread id.',
        },
      ],
    },
  );
}
