import { setTimeout as sleep } from 'node:timers/promises';
import { engineKeys } from '../../src/core/engine/engine-keys.ts';
import { persistentNamespace } from '../../src/core/state/persistent-keys.ts';
import { mintToken } from '../lib/clients.ts';
import { createHttpClient } from '../lib/http-client.ts';
import { ratio } from '../lib/measure.ts';
import { fmt, type BenchContext, type BudgetCheck, type WorkloadResult } from '../lib/results.ts';
import { seedKey } from '../lib/seed-keys.ts';
import { STATE_STORE, type Target } from '../lib/targets.ts';
import type { WorkerMemory } from '../lib/worker-spec.ts';
import { openCpuWindow } from '../lib/process-cpu.ts';

const TENANT = 'bench-backup';
const AGENT = 'backup-agent';
/** Bytes of each seeded value: large values, as backups of real agent memory hold. */
const VALUE_BYTES = 64 * 1024;
/** Keys per seed request, so one request stays well inside the HTTP client's timeout. */
const SEED_KEYS = 256;
/** Head keys per bulk read of the baseline: about 1 MiB a request, below daprd's limit. */
const BASELINE_KEYS = 16;
const BUDGET_BYTES = 1024 ** 3;
const MB = 1_000_000;

interface Run {
  readonly seconds: number;
  /** The worker's resident set when the operation started, and its highest sample during it. */
  readonly startRss: number;
  readonly peakRss: number;
  /** The sample of the highest resident set, with V8's part of it. */
  readonly atPeak: WorkerMemory;
  /** CPU time of each process of the target over the operation, in ms. */
  readonly cpuMs: Record<string, number>;
}

/**
 * A backup and a restore of `bytes` of one agent's persistent state (random 64 KiB
 * values, which gzip barely shrinks) on daprd, against reading the same heads through
 * daprd's state API alone (bulk get, one request at a time). The worker's resident set
 * is sampled every 100 ms during each. The backup is timed until its manifest is
 * listed; the verification that follows it is timed apart. The restore is the whole
 * call: the read-through check, the safety backup of the state it overwrites, and the
 * bulk load.
 */
export async function backupRestore(
  ctx: BenchContext,
  target: Target,
  bytes: number,
): Promise<WorkloadResult> {
  if (target.daprEndpoint === undefined) throw new Error('the backup workload runs on daprd');
  const keys = Math.max(1, Math.round(bytes / VALUE_BYTES));
  const size = keys * VALUE_BYTES;
  const worker = target.worker;
  // A restore of a large backup is one request of minutes.
  const slow = createHttpClient(3_600_000);
  const auth = {
    authorization: `Bearer ${await mintToken(TENANT, 'bench-operator', ['operator'], 24 * 3600)}`,
  };
  try {
    ctx.progress(
      `${target.name}: seeding ${fmt.int(keys)} keys of ${VALUE_BYTES / 1024} KiB (${(size / MB).toFixed(0)} MB)`,
    );
    for (let from = 0; from < keys; from += SEED_KEYS)
      await worker.seed({
        tenant: TENANT,
        agent: AGENT,
        from,
        to: Math.min(keys, from + SEED_KEYS),
        valueBytes: VALUE_BYTES,
      });
    await worker.waitQuiet();

    ctx.progress(`${target.name}: reading ${(size / MB).toFixed(0)} MB through the state store alone`);
    const heads = engineKeys(persistentNamespace(TENANT, AGENT));
    let read = 0;
    const baseline = await sampled(target, async () => {
      for (let from = 0; from < keys; from += BASELINE_KEYS) {
        const batch = Array.from({ length: Math.min(BASELINE_KEYS, keys - from) }, (_, i) =>
          heads.head(seedKey(from + i)),
        );
        const answer = await ctx.http.ok(
          'POST',
          `${target.daprEndpoint}/v1.0/state/${STATE_STORE}/bulk`,
          JSON.stringify({ keys: batch, parallelism: 1 }),
        );
        read += answer.text.length;
      }
    });
    const baselineSeconds = baseline.seconds;
    if (read < size) throw new Error(`the baseline read ${read} bytes, less than the ${size} seeded`);

    ctx.progress(`${target.name}: backing up`);
    const api = (method: string, path: string, body?: unknown) =>
      slow
        .ok(method, `${worker.url}${path}`, body === undefined ? undefined : JSON.stringify(body), auth)
        .then((answer) => JSON.parse(answer.text) as Record<string, unknown>);
    let backupId = '';
    let listedAt = 0;
    const backup = await sampled(target, async () => {
      backupId = String((await api('POST', '/v1/backups', { agent: AGENT }))['backup_id']);
      for (;;) {
        const listed = (await api('GET', '/v1/backups'))['backups'] as { backup_id: string }[];
        if (listed.some((b) => b.backup_id === backupId)) break;
        const job = await api('GET', `/v1/backups/${backupId}`);
        if (job['status'] === 'failed') throw new Error(`the backup failed: ${JSON.stringify(job['error'])}`);
        await sleep(100);
      }
      listedAt = performance.now();
    });
    for (;;) {
      const job = await api('GET', `/v1/backups/${backupId}`);
      if (job['status'] === 'complete') break;
      if (job['status'] === 'failed')
        throw new Error(`the verification failed: ${JSON.stringify(job['error'])}`);
      await sleep(100);
    }
    const verifySeconds = (performance.now() - listedAt) / 1000;
    const encrypted = ((await api('GET', `/v1/backups/${backupId}`))['file_size_bytes'] as number) ?? 0;

    ctx.progress(`${target.name}: restoring`);
    const restore = await sampled(target, () =>
      api('POST', `/v1/backups/${backupId}/restore`, { agent: AGENT }),
    );

    const rate = (seconds: number) => size / MB / seconds;
    const baselineRate = rate(baselineSeconds);
    const backupRatio = ratio(rate(backup.seconds), baselineRate);
    const restoreRatio = ratio(rate(restore.seconds), baselineRate);
    const peak = Math.max(backup.peakRss, restore.peakRss);
    const atBudgetSize = size >= BUDGET_BYTES;
    const cpu = (run: Run | undefined, label: string) => {
      const ms = run?.cpuMs[label];
      return ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`;
    };
    const row = (what: string, seconds: number, run?: Run, peak = true) => [
      what,
      `${seconds.toFixed(1)} s`,
      `${rate(seconds).toFixed(1)} MB/s`,
      fmt.ratio(ratio(rate(seconds), baselineRate)),
      cpu(run, 'worker'),
      cpu(run, 'daprd'),
      run === undefined || !peak ? '' : `${(run.peakRss / MB).toFixed(0)} MB`,
    ];
    const atPeak = (what: string, run: Run) =>
      `At the ${what}'s peak the worker's resident set was ${(run.peakRss / MB).toFixed(0)} MB: V8's heap ` +
      `${(run.atPeak.heapTotal / MB).toFixed(0)} MB, of which the young generation ` +
      `${(run.atPeak.youngGeneration / MB).toFixed(0)} MB, and ${(run.atPeak.external / MB).toFixed(0)} MB of buffers ` +
      `outside it (live, or dead until a collection frees them).`;
    const budgets: BudgetCheck[] = [
      {
        budget: 'backup and restore of 1 GiB ≥ 0.8x reading it through the store; peak RSS < 256 MB',
        met: atBudgetSize ? backupRatio >= 0.8 && restoreRatio >= 0.8 && peak < 256 * MB : undefined,
        measured:
          `${(size / MB).toFixed(0)} MB on ${target.name}: backup ${fmt.ratio(backupRatio)}, restore ${fmt.ratio(restoreRatio)}, ` +
          `peak RSS ${(peak / MB).toFixed(0)} MB${atBudgetSize ? '' : ' (below the budget size: not judged)'}`,
      },
    ];
    return {
      sections: [
        {
          title: `Backup and restore of ${(size / MB).toFixed(0)} MB on ${target.name}`,
          description:
            `One agent's ${fmt.int(keys)} keys of ${VALUE_BYTES / 1024} KiB random text (the worst case for compression, which ` +
            `sets the pace of a backup), backed up (zstd, AES-256-GCM in ` +
            `chunks, parts on bindings.localstorage) and restored through the REST API, against reading the same heads ` +
            `through daprd's state API alone (bulk get of ${BASELINE_KEYS} keys a request, one request at a time). ` +
            `The worker's resident set is sampled every 100 ms; the CPU columns are the time the worker and daprd spent ` +
            `on a CPU during the operation. The backup is timed until its manifest is listed, its ` +
            `verification (every chunk read back and decrypted) apart; the restore includes its read-through check and ` +
            `the safety backup of what it overwrites.`,
          table: {
            columns: [
              'operation',
              'time',
              'throughput',
              'vs store read',
              'worker CPU',
              'daprd CPU',
              'peak RSS',
            ],
            rows: [
              row('read through the state store (baseline)', baselineSeconds, baseline, false),
              row('backup', backup.seconds, backup),
              row('verification after the backup', verifySeconds),
              row('restore (check, safety backup, load)', restore.seconds, restore),
            ],
          },
          notes: [
            `The backup is ${(encrypted / MB).toFixed(0)} MB encrypted.`,
            `The worker's resident set was ${(backup.startRss / MB).toFixed(0)} MB when the backup started and ` +
              `${(restore.startRss / MB).toFixed(0)} MB when the restore started (seeding ran in the same process before).`,
            atPeak('backup', backup),
            atPeak('restore', restore),
          ],
        },
      ],
      budgets,
      headlines: [
        {
          measure: `backup / restore of ${(size / MB).toFixed(0)} MB vs reading it through the store; peak RSS`,
          target: target.name,
          result: `${fmt.ratio(backupRatio)} / ${fmt.ratio(restoreRatio)}, ${(peak / MB).toFixed(0)} MB`,
        },
      ],
      data: { bytes: size, keys, baselineSeconds, backup, verifySeconds, restore, encryptedBytes: encrypted },
    };
  } finally {
    slow.close();
  }
}

/**
 * Runs `work`, sampling the worker's memory every 100 ms; answers its time, the peak,
 * and the CPU time each process of the target spent meanwhile (which, unlike the time,
 * other load on the machine barely changes).
 */
async function sampled(target: Target, work: () => Promise<unknown>): Promise<Run> {
  const start = await target.worker.memory();
  let atPeak = start;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const now = await target.worker.memory();
      if (now.rss > atPeak.rss) atPeak = now;
      await sleep(100);
    }
  })();
  const cpuWindow = await openCpuWindow(target.processes);
  const started = performance.now();
  try {
    await work();
  } finally {
    done = true;
    await sampler;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = Object.fromEntries((await cpuWindow.close(1)).map(({ label, cpuMs: ms }) => [label, ms]));
  return { seconds, startRss: start.rss, peakRss: atPeak.rss, atPeak, cpuMs };
}
