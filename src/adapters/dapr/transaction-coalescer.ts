import { isAppError } from '../../core/errors.ts';
import type { Json } from '../../core/json.ts';
import type { KvEntry } from '../../ports/kv-store.ts';
import { jsonEqual } from './kv-write-plan.ts';

/** One caller's `transact`, ready to send. */
export interface TransactionMember {
  /** The key of each of its operations, in their order. */
  readonly keys: readonly string[];
  /** Its operations as daprd takes them, each JSON-encoded, in the order of `keys`. */
  readonly operations: readonly string[];
  /**
   * Its conditional operations (an ETag or create-if-absent), with what each leaves
   * behind when it applies: the value it saves, or `undefined` for a delete.
   */
  readonly conditions: readonly { readonly key: string; readonly leaves: Json | undefined }[];
}

export interface TransactionCoalescerOptions {
  /** Sends the members' operations as one daprd transaction. */
  readonly send: (members: readonly TransactionMember[]) => Promise<void>;
  /** Whether the store applies a transaction all or nothing (PostgreSQL) or not (Redis). */
  readonly atomic: () => boolean;
  /** Reads keys back after a merged transaction failed, to learn what each member did. */
  readonly readBack: (keys: readonly string[]) => Promise<Map<string, KvEntry>>;
  /** Bytes of operations one merged transaction carries at most. */
  readonly maxBytes: number;
}

/**
 * Group commit: the transactions a worker starts in one turn of the event loop (the
 * commits of requests that arrived together) go to daprd as one transaction, when they
 * touch different keys. Each caller still gets the answer it would have got alone:
 *
 * - the merged transaction succeeded: every member applied;
 * - the store refused it (`VersionConflict`, `DatabaseError`) and its transactions are
 *   all or nothing (PostgreSQL): nothing applied, so each member is sent again alone
 *   and answered by its own outcome;
 * - it failed on a condition on Redis, where MULTI/EXEC applies every other operation
 *   (components-contrib `state/redis` `Multi`): the keys the members' conditions were on
 *   are read back, and a member whose every condition left what it wrote applied, any
 *   other failed with the conflict, as the port allows a non-atomic store to (its
 *   unconditional operations may have applied); if that read fails too, every member
 *   fails with its error, the outcome unknown;
 * - any other failure (no answer: `Unavailable`): each member fails with it, its
 *   outcome unknown, as it would have been alone.
 *
 * Two members that touch one key never share a transaction: writers of the same key
 * contend as they would without this, each CAS in its own call.
 */
export function transactionCoalescer(options: TransactionCoalescerOptions) {
  const { send, atomic, readBack, maxBytes } = options;
  let pending: Batch | undefined;

  function close(batch: Batch): void {
    if (pending === batch) pending = undefined;
    clearImmediate(batch.timer);
    void settle(batch.members);
  }

  async function settle(members: readonly Waiting[]): Promise<void> {
    if (members.length === 1) {
      const [only] = members as [Waiting];
      return send([only.member]).then(only.resolve, only.reject);
    }
    try {
      await send(members.map(({ member }) => member));
      for (const waiting of members) waiting.resolve();
    } catch (error) {
      const refused = isAppError(error, 'VersionConflict') || isAppError(error, 'DatabaseError');
      if (refused && atomic()) await Promise.all(members.map((waiting) => settle([waiting])));
      else if (isAppError(error, 'VersionConflict')) await judgeEach(members, error);
      else for (const waiting of members) waiting.reject(error);
    }
  }

  async function judgeEach(members: readonly Waiting[], conflict: unknown): Promise<void> {
    let found: Map<string, KvEntry>;
    try {
      found = await readBack(members.flatMap(({ member }) => member.conditions.map(({ key }) => key)));
    } catch (error) {
      // Which members applied is unknown: a conflict would tell one that did that it did not.
      for (const waiting of members) waiting.reject(error);
      return;
    }
    for (const waiting of members) {
      const applied = waiting.member.conditions.every(({ key, leaves }) => {
        const entry = found.get(key);
        return leaves === undefined
          ? entry === undefined
          : entry !== undefined && jsonEqual(entry.value, leaves);
      });
      if (applied) waiting.resolve();
      else waiting.reject(conflict);
    }
  }

  return (member: TransactionMember): Promise<void> =>
    new Promise((resolve, reject) => {
      const waiting = { member, resolve, reject };
      const bytes = member.operations.reduce((sum, operation) => sum + operation.length + 1, 0);
      if (bytes >= maxBytes) return void settle([waiting]);
      if (
        pending !== undefined &&
        (pending.bytes + bytes > maxBytes || member.keys.some((key) => pending?.keys.has(key)))
      )
        close(pending);
      const batch = (pending ??= newBatch(close));
      batch.members.push(waiting);
      batch.bytes += bytes;
      for (const key of member.keys) batch.keys.add(key);
    });
}

interface Waiting {
  readonly member: TransactionMember;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface Batch {
  readonly members: Waiting[];
  readonly keys: Set<string>;
  bytes: number;
  readonly timer: NodeJS.Immediate;
}

function newBatch(close: (batch: Batch) => void): Batch {
  const batch: Batch = { members: [], keys: new Set(), bytes: 0, timer: setImmediate(() => close(batch)) };
  return batch;
}
