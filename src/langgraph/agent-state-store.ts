import {
  BaseStore,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from '@langchain/langgraph-checkpoint';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { ServiceClient } from '../cli/service-client.ts';
import { isAppError } from '../core/errors.ts';
import {
  persistentGetResultSchema,
  persistentListResultSchema,
  persistentQueryResultSchema,
} from '../core/state/persistent-schemas.ts';
import { sharedGetResultSchema, sharedListResultSchema } from '../core/state/shared-schemas.ts';
import { connectToAgentState, type AgentStateConnectionOptions } from './service-connection.ts';
import { itemKey, namespacePrefix, parseItemKey } from './store-keys.ts';

export interface AgentStateStoreOptions extends AgentStateConnectionOptions {
  /**
   * Where items live: the agent's versioned persistent state, or the tenant's shared
   * state (every agent of the tenant sees them). @default 'persistent'
   */
  readonly scope?: 'persistent' | 'shared';
}

type Stored = { key: string; value: Record<string, unknown>; createdAt: Date; updatedAt: Date };

const PAGE = 1000;

/**
 * A LangGraph.js long-term memory store (`BaseStore`) on agentstate's persistent or
 * shared state (README, "LangGraph: store"), so memory and checkpoints live in one
 * service. Items are keys under their namespace's prefix; `search` filters on the
 * value's top-level fields (`$eq`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte` or a plain
 * value) and has no vector index, so `query` does not rank.
 */
export class AgentStateStore extends BaseStore {
  private readonly client: ServiceClient;
  private readonly scope: 'persistent' | 'shared';

  constructor(options: AgentStateStoreOptions = {}) {
    super();
    this.client = connectToAgentState(options);
    this.scope = options.scope ?? 'persistent';
  }

  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const results: unknown[] = [];
    for (const operation of operations) results.push(await this.run(operation));
    return results as OperationResults<Op>;
  }

  private run(operation: Operation): Promise<unknown> {
    if ('namespacePrefix' in operation) return this.searchItems(operation);
    if ('matchConditions' in operation || 'maxDepth' in operation || !('namespace' in operation))
      return this.namespaces(operation);
    if ('value' in operation) return this.write(operation);
    return this.read(operation);
  }

  private capability<T>(schema: z.ZodType<T>, name: string, input: unknown): Promise<T> {
    return this.client.json(schema, 'POST', `/v1/capabilities/state.${this.scope}.${name}`, { json: input });
  }

  private async read({ namespace, key }: GetOperation): Promise<Item | null> {
    const stored = itemKey(namespace, key);
    if (this.scope === 'shared') {
      const answer = await this.capability(sharedGetResultSchema, 'get', { key: stored });
      if (!answer.found) return null;
      const at = new Date(answer.updated_at);
      return { namespace, key, value: answer.value as Record<string, unknown>, createdAt: at, updatedAt: at };
    }
    try {
      const answer = await this.capability(persistentGetResultSchema, 'get', { key: stored });
      return {
        namespace,
        key,
        value: answer.value as Record<string, unknown>,
        createdAt: new Date(answer.created_at),
        updatedAt: new Date(answer.updated_at),
      };
    } catch (error) {
      if (isAppError(error, 'KeyNotFound')) return null;
      throw error;
    }
  }

  private async write({ namespace, key, value }: PutOperation): Promise<void> {
    const stored = itemKey(namespace, key);
    try {
      if (value === null) await this.capability(deletedSchema, 'delete', { key: stored });
      else if (this.scope === 'persistent')
        await this.capability(writtenSchema, 'set', { key: stored, value });
      else await this.writeShared(stored, value);
    } catch (error) {
      if (!(value === null && isAppError(error, 'KeyNotFound'))) throw error;
    }
  }

  /** Shared state writes are compare-and-swap: read the version, write over it, again if another won. */
  private async writeShared(key: string, value: Record<string, unknown>): Promise<void> {
    for (;;) {
      const current = await this.capability(sharedGetResultSchema, 'get', { key });
      try {
        await this.capability(writtenSchema, 'set', { key, value, expected_version: current.version });
        return;
      } catch (error) {
        if (!isAppError(error, 'VersionConflict')) throw error;
      }
    }
  }

  private async searchItems({ namespacePrefix: prefix, filter, limit = 10, offset = 0 }: SearchOperation) {
    const found: SearchItem[] = [];
    for await (const item of this.items(namespacePrefix(prefix))) {
      const parsed = parseItemKey(item.key);
      if (parsed === undefined || (filter !== undefined && !matches(item.value, filter))) continue;
      found.push({
        namespace: parsed.namespace,
        key: parsed.key,
        value: item.value,
        createdAt: item.createdAt,
        updatedAt: item.updatedAt,
      });
      if (found.length >= offset + limit) break;
    }
    return found.slice(offset, offset + limit);
  }

  private async namespaces({ matchConditions = [], maxDepth, limit, offset }: ListNamespacesOperation) {
    const seen = new Map<string, string[]>();
    for await (const key of this.keys()) {
      const parsed = parseItemKey(key);
      if (parsed === undefined) continue;
      const namespace = maxDepth === undefined ? parsed.namespace : parsed.namespace.slice(0, maxDepth);
      if (matchConditions.every((condition) => matchesPath(namespace, condition.path, condition.matchType)))
        seen.set(JSON.stringify(namespace), namespace);
    }
    return [...seen.values()]
      .sort((a, b) => a.join('\u0000').localeCompare(b.join('\u0000')))
      .slice(offset, offset + limit);
  }

  /** Items under a key prefix with their values, a page of the service at a time. */
  private async *items(prefix: string): AsyncGenerator<Stored> {
    if (this.scope === 'shared') {
      for await (const key of this.keys(prefix)) {
        const answer = await this.capability(sharedGetResultSchema, 'get', { key });
        if (!answer.found) continue;
        const at = new Date(answer.updated_at);
        yield { key, value: answer.value as Record<string, unknown>, createdAt: at, updatedAt: at };
      }
      return;
    }
    let cursor: string | undefined;
    do {
      const page = await this.capability(persistentQueryResultSchema, 'query', {
        prefix,
        limit: PAGE,
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const entry of page.entries)
        yield {
          key: entry.key,
          value: entry.value as Record<string, unknown>,
          createdAt: new Date(entry.created_at),
          updatedAt: new Date(entry.updated_at),
        };
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  private async *keys(prefix = ''): AsyncGenerator<string> {
    const schema = this.scope === 'shared' ? sharedListResultSchema : persistentListResultSchema;
    let cursor: string | undefined;
    do {
      const page = await this.capability(schema, 'list', {
        prefix,
        limit: PAGE,
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const entry of page.entries) yield entry.key;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
}

const writtenSchema = z.object({ version: z.int() });
const deletedSchema = z.object({ deleted: z.literal(true) });

function matches(value: Record<string, unknown>, filter: Record<string, unknown>): boolean {
  return Object.entries(filter).every(([field, condition]) => {
    const actual = value[field];
    if (typeof condition !== 'object' || condition === null || Array.isArray(condition))
      return isDeepStrictEqual(actual, condition);
    return Object.entries(condition).every(([operator, expected]) => {
      switch (operator) {
        case '$eq':
          return isDeepStrictEqual(actual, expected);
        case '$ne':
          return !isDeepStrictEqual(actual, expected);
        case '$gt':
          return (actual as number) > (expected as number);
        case '$gte':
          return (actual as number) >= (expected as number);
        case '$lt':
          return (actual as number) < (expected as number);
        case '$lte':
          return (actual as number) <= (expected as number);
        default:
          return isDeepStrictEqual(actual, condition);
      }
    });
  });
}

function matchesPath(
  namespace: readonly string[],
  path: readonly string[],
  type: 'prefix' | 'suffix',
): boolean {
  if (path.length > namespace.length) return false;
  const part =
    type === 'prefix' ? namespace.slice(0, path.length) : namespace.slice(namespace.length - path.length);
  return path.every((segment, i) => segment === '*' || segment === part[i]);
}
