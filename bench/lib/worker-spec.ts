import { z } from 'zod';

/** How the parent tells a worker process what to run (`BENCH_WORKER_SPEC`, JSON). */
export const workerSpecSchema = z.discriminatedUnion('store', [
  z.object({ store: z.literal('embedded'), logLevel: z.string() }),
  z.object({
    store: z.literal('dapr'),
    logLevel: z.string(),
    appPort: z.number().int(),
    daprHttpPort: z.number().int(),
    daprGrpcPort: z.number().int(),
  }),
]);
export type WorkerSpec = z.infer<typeof workerSpecSchema>;

/** The line a worker process prints once it listens, followed by `{url, controlUrl}` as JSON. */
export const WORKER_READY = 'BENCH_WORKER_READY ';

export const workerReadySchema = z.object({ url: z.string(), controlUrl: z.string() });

/** What the parent asks a worker process to seed: keys `seedKey(from..to-1)` of one agent. */
export const seedRequestSchema = z.object({
  tenant: z.string(),
  agent: z.string(),
  from: z.number().int().min(0),
  to: z.number().int().min(0),
  /** Bytes of each value's text, random and incompressible; absent: `seedValue(i)`, a few bytes. */
  valueBytes: z.number().int().min(1).optional(),
});
export type SeedRequest = z.infer<typeof seedRequestSchema>;

/** A worker's memory at one moment, in bytes (`GET /memory`). */
export interface WorkerMemory {
  readonly rss: number;
  /** V8's heap, of which the young generation (new and new large object spaces) is part. */
  readonly heapTotal: number;
  readonly youngGeneration: number;
  /** Outside V8's heap: buffers (live, or dead until a collection frees them). */
  readonly external: number;
}
