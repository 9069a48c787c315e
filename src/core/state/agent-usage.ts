import type { KvStore } from '../../ports/kv-store.ts';
import {
  deadGenerationsNamespace,
  generationNamespace,
  parseDeadGenerationKey,
  threadsNamespace,
} from '../checkpoints/checkpoint-keys.ts';
import { engineKeys } from '../engine/engine-keys.ts';
import { headSchema, type Head } from '../engine/head-record.ts';
import { createKeyIndex } from './key-index.ts';
import { persistentNamespace } from './persistent-keys.ts';
import { decodeRecord } from './stored-record.ts';

// Keys listed and heads read per page of a scan.
const PAGE = 500;

/**
 * The one usage counter of an agent's state, which its quota is checked against: its
 * persistent state and every life of every thread of its checkpoints count in the
 * shards of the persistent namespace (`VersionedRecordsOptions.usage`). A recount sums
 * the heads of all of them: the persistent namespace, the generation of every thread
 * head still listed, and every ended generation the sweep has not collected yet.
 */
export function agentUsage(
  kv: KvStore,
  tenant: string,
  agent: string,
): { namespace: string; scanHeads: () => AsyncIterable<Head[]> } {
  const namespace = persistentNamespace(tenant, agent);
  return {
    namespace,
    async *scanHeads() {
      yield* scanNamespace(kv, namespace);
      const seen = new Set<string>();
      const generations: { thread: string; generation: number }[] = [];
      const note = (thread: string, generation: number) => {
        const id = JSON.stringify([thread, generation]);
        if (!seen.has(id)) generations.push({ thread, generation });
        seen.add(id);
      };
      for await (const threads of scanNamespace(kv, threadsNamespace(tenant, agent)))
        for (const head of threads) note(head.key, head.since);
      for await (const keys of listKeys(kv, deadGenerationsNamespace(tenant, agent)))
        for (const key of keys) {
          const { thread, generation } = parseDeadGenerationKey(key);
          note(thread, generation);
        }
      for (const { thread, generation } of generations)
        yield* scanNamespace(kv, generationNamespace(tenant, agent, thread, generation));
    },
  };
}

async function* listKeys(kv: KvStore, namespace: string): AsyncIterable<string[]> {
  const index = createKeyIndex(kv, { namespace });
  let after: string | undefined;
  do {
    const page = await index.list({ limit: PAGE, ...(after === undefined ? {} : { after }) });
    yield page.keys;
    after = page.cursor;
  } while (after !== undefined);
}

/** Every head a namespace's index lists, tombstones included. */
async function* scanNamespace(kv: KvStore, namespace: string): AsyncIterable<Head[]> {
  const keys = engineKeys(namespace);
  for await (const page of listKeys(kv, namespace)) {
    if (page.length === 0) continue;
    const entries = await kv.getBulk(page.map((key) => keys.head(key)));
    yield page.flatMap((key) => {
      const entry = entries.get(keys.head(key));
      return entry === undefined ? [] : [decodeRecord(headSchema, entry, keys.head(key))];
    });
  }
}
