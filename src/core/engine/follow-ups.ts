import { setTimeout as sleep } from 'node:timers/promises';
import type { KvStore } from '../../ports/kv-store.ts';
import { retryOnConflict } from '../state/cas-retry.ts';
import { decodeRecord } from '../state/stored-record.ts';
import type { EngineKeys } from './engine-keys.ts';
import type { EngineRuntime } from './engine-runtime.ts';
import { headSchema, type FollowUp, type Head } from './head-record.ts';

/** A committed change of `key` whose after-commit work is to run. */
export interface KeyedFollowUp extends FollowUp {
  readonly key: string;
}

/**
 * The domain's after-commit work: runs the changes given (oldest first per key), at least
 * once each, so it must be idempotent. Throwing leaves them on their heads for a retry.
 */
export type RunFollowUps = (changes: readonly KeyedFollowUp[]) => Promise<void>;

export interface FollowUpOptions {
  readonly run: RunFollowUps;
  /**
   * How long after a change (its `updated_at`) its own worker has to run its work before
   * others take it over, taking the worker for dead. Longer delays recovery after a
   * crash; shorter makes others run work again that its worker is still running.
   */
  readonly graceMs: number;
}

export interface FollowUpRunnerOptions {
  readonly keys: EngineKeys;
  readonly ttl: { ttlSeconds?: number };
  readonly graceMs: number;
  /** The clock of the records' `updated_at`, which grace periods are judged by. */
  readonly now: () => Date;
  /** Called with a key whose head became a tombstone without follow-ups (collection may proceed). */
  readonly settledTombstone: (key: string) => void;
}

/**
 * Runs the after-commit work of committed changes, driven by the durable intents on the
 * heads (`follow_ups`): a change's own worker runs its work right after the answer; a
 * reader, writer or sweep that meets a change whose worker let its grace period pass
 * runs it instead (roll-forward). Per key, work runs in version order: a change waits
 * for the changes before it, whoever runs them. Once done, the change is removed from
 * the head by a CAS that only changes the head's ETag, never its version. A key's next
 * writer carries the changes still on the head over to the new head, so none is lost.
 */
export interface FollowUpRunner {
  /** Whether this worker already ran the change's work (a writer need not carry it). */
  isDone(id: string): boolean;
  /** A change this worker committed on `key`: its work runs now, in the background. */
  committed(key: string, id: string, run: RunFollowUps): void;
  /** A head that a reader met: its changes are run if their workers let the grace period pass. */
  met(head: Head, run: RunFollowUps): void;
}

// The ids of work done that a worker remembers, so that it neither carries nor runs them again.
const DONE_KEPT = 4096;
// Waits for another worker's change before this one, doubling from the first to the longest.
const FIRST_WAIT_MS = 5;
const LONGEST_WAIT_MS = 100;

export function followUpRunner(
  kv: KvStore,
  runtime: EngineRuntime,
  options: FollowUpRunnerOptions,
): FollowUpRunner {
  return runtime.singleton('follow-ups', options.keys.namespace, () =>
    createFollowUpRunner(kv, runtime, options),
  );
}

function createFollowUpRunner(
  kv: KvStore,
  runtime: EngineRuntime,
  { keys, ttl, graceMs, now, settledTombstone }: FollowUpRunnerOptions,
): FollowUpRunner {
  const mine = new Set<string>();
  const done = new Set<string>();
  // Real time this worker waited for another's change, so that disagreeing clocks cannot block it.
  const waited = new Map<string, number>();
  let queued = new Map<string, RunFollowUps>();
  let running = false;

  function markDone(id: string): void {
    mine.delete(id);
    waited.delete(id);
    done.add(id);
    if (done.size > DONE_KEPT) done.delete(done.values().next().value as string);
  }

  function abandoned(followUp: FollowUp): boolean {
    if ((waited.get(followUp.id) ?? 0) >= graceMs) return true;
    return now().getTime() - Date.parse(followUp.updated_at) >= graceMs;
  }

  function enqueue(key: string, run: RunFollowUps): void {
    queued.set(key, run);
    runtime.background.run(`follow-ups in ${keys.namespace}`, drain);
  }

  async function drain(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (queued.size > 0) {
        const batch = queued;
        queued = new Map();
        await runBatch(batch);
      }
    } finally {
      running = false;
    }
  }

  /** Waits before looking at `key` again, for the worker of an earlier change to finish it. */
  function retryLater(key: string, blocking: FollowUp, run: RunFollowUps): void {
    const wait = waited.get(blocking.id) ?? 0;
    const delay = Math.min(LONGEST_WAIT_MS, Math.max(FIRST_WAIT_MS, wait));
    waited.set(blocking.id, wait + delay);
    runtime.background.run(`follow-ups of ${keys.head(key)}`, async () => {
      await sleep(delay);
      enqueue(key, run);
    });
  }

  async function runBatch(batch: Map<string, RunFollowUps>): Promise<void> {
    const entries = await kv.getBulk([...batch.keys()].map((key) => keys.head(key)));
    const groups = new Map<RunFollowUps, KeyedFollowUp[]>();
    const touched: string[] = [];
    for (const [key, run] of batch) {
      const entry = entries.get(keys.head(key));
      if (entry === undefined) continue;
      const head = decodeRecord(headSchema, entry, keys.head(key));
      const due: KeyedFollowUp[] = [];
      let hasDone = false;
      for (const followUp of head.follow_ups ?? []) {
        if (done.has(followUp.id)) {
          hasDone = true;
          continue;
        }
        if (!mine.has(followUp.id) && !abandoned(followUp)) {
          // An earlier change that its live worker is still running: the later ones wait.
          if ((head.follow_ups ?? []).some((later) => mine.has(later.id))) retryLater(key, followUp, run);
          break;
        }
        due.push({ key, ...followUp });
      }
      if (due.length > 0) {
        const group = groups.get(run) ?? [];
        group.push(...due);
        groups.set(run, group);
      }
      if (due.length > 0 || hasDone) touched.push(key);
    }
    let failure: Error | undefined;
    for (const [run, changes] of groups) {
      try {
        await run(changes);
        for (const change of changes) markDone(change.id);
      } catch (error) {
        // Left on the heads, and no longer this worker's: whoever meets them after the
        // grace period runs them again.
        for (const change of changes) mine.delete(change.id);
        failure ??= error instanceof Error ? error : new Error(String(error));
      }
    }
    for (const key of touched) await removeDone(key);
    if (failure !== undefined) throw failure;
  }

  /** Removes the changes whose work is done from the key's head: a CAS that keeps its version. */
  async function removeDone(key: string): Promise<void> {
    const storeKey = keys.head(key);
    let version: number | undefined;
    const tombstone = await retryOnConflict(`follow-ups of ${storeKey}`, async () => {
      const entry = await kv.get(storeKey);
      if (entry === undefined) return false;
      const head = decodeRecord(headSchema, entry, storeKey);
      // A newer change took the head: its writer left out what this worker had done, or
      // carried it, and the removal after the newer change's work takes it. Fighting the
      // key's writers for the head would only make them retry.
      if (version !== undefined && head.version !== version) return false;
      version = head.version;
      const rest = (head.follow_ups ?? []).filter((followUp) => !done.has(followUp.id));
      if (rest.length === head.follow_ups?.length) return false;
      const next: Head = { ...head };
      if (rest.length === 0) delete next.follow_ups;
      else next.follow_ups = rest;
      await kv.transact([{ op: 'save', key: storeKey, value: next, options: { etag: entry.etag, ...ttl } }]);
      return rest.length === 0 && head.deleted === true;
    });
    if (tombstone) settledTombstone(key);
  }

  return {
    isDone: (id) => done.has(id),

    committed(key, id, run) {
      mine.add(id);
      enqueue(key, run);
    },

    met(head, run) {
      const due = head.follow_ups?.some(
        (followUp) => !mine.has(followUp.id) && !done.has(followUp.id) && abandoned(followUp),
      );
      if (due === true) enqueue(head.key, run);
    },
  };
}
