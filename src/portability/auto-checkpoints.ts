import { currentSession } from '../capabilities/call-scope.ts';
import type { CallContext } from '../capabilities/capability.ts';
import type { StateServices } from '../capabilities/state-services.ts';
import type { Logger } from '../logging.ts';
import type { Portability } from './portability.ts';

export interface AutoCheckpointOptions {
  /** Checkpoint after every this many messages of a session; 0 never. @default 0 */
  readonly everyMessages?: number;
  /** Checkpoint a session before it is ended. @default false */
  readonly onEnd?: boolean;
}

/**
 * Automatic checkpoints of sessions into snapshot storage (spec/004), off unless
 * configured. Each is `Portability.checkpoint` run as the caller whose call triggered
 * it, and lists with `agentstate session snapshots` like any other, tagged
 * `checkpoint=messages` or `checkpoint=end`.
 */
export interface AutoCheckpoints {
  /**
   * Called once message `seq` was appended and answered: when `seq` is a multiple of
   * `everyMessages`, checkpoints the session in the background. A failure is logged, not
   * reported (the append committed); the next checkpoint covers what it missed.
   */
  afterMessage(context: CallContext, seq: number): void;
  /**
   * Called before a session is ended, which deletes its messages and events: with
   * `onEnd`, checkpoints it first, and a failure fails the end (nothing ended).
   */
  beforeEnd(context: CallContext): Promise<void>;
}

export function createAutoCheckpoints(
  services: StateServices,
  portability: Portability,
  logger: Logger,
  { everyMessages = 0, onEnd = false }: AutoCheckpointOptions = {},
): AutoCheckpoints {
  async function checkpoint(context: CallContext, trigger: 'messages' | 'end'): Promise<void> {
    const session = await currentSession(services, context, 'read');
    await portability.checkpoint(
      context.caller,
      { agent: session.agent, sessionId: session.session_id },
      { checkpoint: trigger },
    );
  }

  return {
    afterMessage(context, seq) {
      if (everyMessages === 0 || seq % everyMessages !== 0) return;
      checkpoint(context, 'messages').catch((error: unknown) => {
        logger.warn({ err: error, session_id: context.sessionId, seq }, 'automatic checkpoint failed');
      });
    },
    async beforeEnd(context) {
      if (onEnd) await checkpoint(context, 'end');
    },
  };
}
