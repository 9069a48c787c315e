import { randomUUID } from 'node:crypto';
import { isAppError } from '../core/errors.ts';
import type { Adapters } from './adapters.ts';

export interface CheckResult {
  readonly adapter: string;
  readonly ok: boolean;
  readonly latency_ms: number;
  readonly error?: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly store: string;
  /** The adapter serving each port. */
  readonly adapters: Record<'kv' | 'blobs' | 'bus' | 'secrets', string>;
  readonly checks: Record<'kv' | 'blobs' | 'secrets', CheckResult>;
}

const CHECK_TIMEOUT_MS = 3_000;
const instance = randomUUID();

/**
 * Touches the stores the way real requests do, so `/readyz` fails when a request would:
 * a KV round trip, a blob listing and a secret read (a missing secret still proves the
 * store answers). The bus is not probed: a probe event every few seconds would pile up
 * in a Redis stream nobody reads; its subscriptions were established at start-up.
 */
export async function checkReadiness(adapters: Adapters, tokenKeyName: string): Promise<Readiness> {
  const [kv, blobs, secrets] = await Promise.all([
    check(adapters.kv.traits.name, async () => {
      const key = `system/readyz/${instance}`;
      await adapters.kv.save(key, Date.now(), { ttlSeconds: 60 });
      if ((await adapters.kv.get(key)) === undefined) throw new Error('written key did not read back');
    }),
    check(adapters.blobs.name, async () => void (await adapters.blobs.list('system/readyz/', { limit: 1 }))),
    check(adapters.secrets.name, async () => {
      try {
        await adapters.secrets.get(tokenKeyName);
      } catch (error) {
        if (!isAppError(error, 'SecretNotFound')) throw error;
      }
    }),
  ]);
  return {
    ready: kv.ok && blobs.ok && secrets.ok,
    store: adapters.family,
    adapters: {
      kv: adapters.kv.traits.name,
      blobs: adapters.blobs.name,
      bus: adapters.bus.name,
      secrets: adapters.secrets.name,
    },
    checks: { kv, blobs, secrets },
  };
}

async function check(adapter: string, probe: () => Promise<void>): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { adapter, ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { adapter, ok: false, latency_ms: Math.round(performance.now() - started), error: message };
  } finally {
    clearTimeout(timer);
  }
}
