import { Router, type Request } from 'express';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Checkpoints } from '../../core/checkpoints/checkpoints.ts';
import {
  copyThreadInputSchema,
  getCheckpointQuerySchema,
  listCheckpointsQuerySchema,
  listThreadsQuerySchema,
  putCheckpointInputSchema,
  putWritesInputSchema,
  threadIdSchema,
} from '../../core/checkpoints/checkpoint-schemas.ts';
import { AppError } from '../../core/errors.ts';
import { canAccessAgentScope, type AccessMode } from '../../core/identity/authorize.ts';
import { jsonSchema } from '../../core/json.ts';
import { parseInput } from '../../core/parse-input.ts';
import { bodyOf, callContext, queryInput } from '../call-context.ts';

/** The checkpoints of one agent of one tenant. */
export type CheckpointsOf = (tenant: string, agent: string) => Checkpoints;

/**
 * LangGraph checkpoints (README, "Checkpoints") of the caller's agent, or of the agent
 * `x-agent-id` names (a supervisor reads, an operator also writes):
 * - `GET    /v1/threads?limit=&cursor=`: the agent's threads, newest first
 * - `DELETE /v1/threads/{thread}`: delete a thread; later writes that continue it are refused
 * - `POST   /v1/threads/{thread}/copy`: copy to `target_thread_id`
 * - `PUT    /v1/threads/{thread}/checkpoints`: put a checkpoint
 * - `GET    /v1/threads/{thread}/checkpoints?checkpoint_ns=&before=&filter=&limit=&cursor=`: list, newest first
 * - `GET    /v1/threads/{thread}/checkpoint?checkpoint_ns=&checkpoint_id=&refresh_ttl=`: one checkpoint
 * - `POST   /v1/threads/{thread}/writes`: pending writes of a task
 * - `PUT|GET /v1/threads/{thread}/blobs/{blob}`: a value too large for a record, as bytes
 */
export function threadRoutes(checkpointsOf: CheckpointsOf): Router {
  const router = Router();
  const thread = '/v1/threads/:thread';

  function scoped(req: Request, mode: AccessMode): Checkpoints {
    const { caller, agent } = callContext(req);
    canAccessAgentScope(caller, caller.tenant, agent, mode);
    return checkpointsOf(caller.tenant, agent);
  }
  const threadOf = (req: Request) => parseInput(threadIdSchema, req.params['thread'], 'thread id');

  router.get('/v1/threads', async (req, res) => {
    const query = parseInput(listThreadsQuerySchema, queryInput(req), 'query');
    res.json(await scoped(req, 'read').listThreads(query));
  });
  router.delete(thread, async (req, res) => {
    res.json(await scoped(req, 'write').deleteThread(threadOf(req)));
  });
  router.post(`${thread}/copy`, async (req, res) => {
    const { target_thread_id } = parseInput(copyThreadInputSchema, bodyOf(req), 'body');
    res.json(await scoped(req, 'write').copyThread(threadOf(req), target_thread_id));
  });
  router.put(`${thread}/checkpoints`, async (req, res) => {
    const input = parseInput(putCheckpointInputSchema, bodyOf(req), 'checkpoint');
    res.json(await scoped(req, 'write').put(threadOf(req), input));
  });
  router.get(`${thread}/checkpoints`, async (req, res) => {
    const { checkpoint_ns, before, filter, limit, cursor } = parseInput(
      listCheckpointsQuerySchema,
      queryInput(req),
      'query',
    );
    res.json(
      await scoped(req, 'read').list(threadOf(req), {
        limit,
        ...(checkpoint_ns === undefined ? {} : { checkpointNs: checkpoint_ns }),
        ...(before === undefined ? {} : { before }),
        ...(filter === undefined ? {} : { filter: parseFilter(filter) }),
        ...(cursor === undefined ? {} : { cursor }),
      }),
    );
  });
  router.get(`${thread}/checkpoint`, async (req, res) => {
    const { checkpoint_ns, checkpoint_id, refresh_ttl } = parseInput(
      getCheckpointQuerySchema,
      queryInput(req),
      'query',
    );
    const id = threadOf(req);
    const tuple = await scoped(req, 'read').get(id, {
      checkpointNs: checkpoint_ns,
      refreshTtl: refresh_ttl === 'true',
      ...(checkpoint_id === undefined ? {} : { checkpointId: checkpoint_id }),
    });
    if (tuple === undefined)
      throw new AppError('KeyNotFound', `thread ${JSON.stringify(id.slice(0, 80))} has no such checkpoint`, {
        recovery: [{ action: 'list_checkpoints', description: "List the thread's checkpoints first." }],
      });
    res.json(tuple);
  });
  router.post(`${thread}/writes`, async (req, res) => {
    const input = parseInput(putWritesInputSchema, bodyOf(req), 'writes');
    res.json(await scoped(req, 'write').putWrites(threadOf(req), input));
  });
  router.put(`${thread}/blobs/:blob`, async (req, res) => {
    const blob = parseInput(z.uuid(), req.params['blob'], 'blob id');
    if (!req.is('application/octet-stream'))
      throw new AppError('InvalidInput', 'a blob is sent as Content-Type: application/octet-stream');
    res.json(await scoped(req, 'write').uploadBlob(threadOf(req), blob, req));
  });
  router.get(`${thread}/blobs/:blob`, async (req, res) => {
    const blob = parseInput(z.uuid(), req.params['blob'], 'blob id');
    const bytes = scoped(req, 'read').readBlob(threadOf(req), blob);
    const iterator = bytes[Symbol.asyncIterator]();
    // The first part decides between 200 and an error answer; the rest streams.
    const first = await iterator.next();
    res.type('application/octet-stream');
    await new Promise<void>((resolve, reject) => {
      Readable.from(
        (async function* () {
          if (first.done !== true) yield first.value;
          for (let next = await iterator.next(); next.done !== true; next = await iterator.next())
            yield next.value;
        })(),
      )
        .on('error', reject)
        .pipe(res)
        .on('finish', resolve)
        .on('error', reject);
    });
  });
  return router;
}

/** `filter` is a JSON object of metadata values. */
function parseFilter(text: string) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AppError('InvalidInput', 'filter must be a JSON object', { cause: error });
  }
  return parseInput(z.record(z.string(), jsonSchema), parsed, 'filter');
}
