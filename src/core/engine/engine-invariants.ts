import type { KvEntry, KvStore } from '../../ports/kv-store.ts';
import { jsonByteLength } from '../json.ts';
import { createKeyIndex } from '../state/key-index.ts';
import { decodeRecord } from '../state/stored-record.ts';
import { engineKeys } from './engine-keys.ts';
import { headSchema, isLive, type Head } from './head-record.ts';
import { usageShardKeys } from './usage-shards.ts';

/** What one namespace holds in the store, read raw: no listing, repair or roll-forward. */
export interface RawNamespace {
  /** The heads of the keys asked about that exist, live or not. */
  readonly heads: Map<string, Head>;
  /** Every key the index lists, sorted. */
  readonly indexed: string[];
  /** The sum of the usage shards. */
  readonly usage: number;
  /** Of each key asked about, the versions whose history records exist (searched up to its head). */
  readonly history: Map<string, number[]>;
}

/**
 * Reads a namespace as it is in the store, for checks that must hold with no repair at
 * all (right after a crash) and for those that hold once background work has run.
 */
export async function readRawNamespace(
  kv: KvStore,
  namespace: string,
  userKeys: readonly string[],
): Promise<RawNamespace> {
  const keys = engineKeys(namespace);
  const heads = new Map<string, Head>();
  const found =
    userKeys.length === 0
      ? new Map<string, KvEntry>()
      : await kv.getBulk(userKeys.map((key) => keys.head(key)));
  for (const key of userKeys) {
    const entry = found.get(keys.head(key));
    if (entry !== undefined) heads.set(key, decodeRecord(headSchema, entry, keys.head(key)));
  }
  const index = createKeyIndex(kv, { namespace });
  const indexed: string[] = [];
  let after: string | undefined;
  do {
    const page = await index.list({ limit: 500, ...(after === undefined ? {} : { after }) });
    indexed.push(...page.keys);
    after = page.cursor;
  } while (after !== undefined);
  const shards = await kv.getBulk(usageShardKeys(namespace));
  let usage = 0;
  for (const entry of shards.values()) usage += (entry.value as { bytes: number }).bytes;
  const history = new Map<string, number[]>();
  for (const key of userKeys) {
    const top = heads.get(key)?.version ?? 0;
    const versions = Array.from({ length: top }, (_, i) => i + 1);
    const records =
      versions.length === 0 ? new Map() : await kv.getBulk(versions.map((v) => keys.history(key, v)));
    history.set(
      key,
      versions.filter((v) => records.has(keys.history(key, v))),
    );
  }
  return { heads, indexed, usage, history };
}

/** The bytes the usage shards must count once every intent is applied: the live sizes. */
export function liveBytes(heads: Iterable<Head>): number {
  let bytes = 0;
  for (const head of heads) if (isLive(head)) bytes += jsonByteLength(head.value);
  return bytes;
}
