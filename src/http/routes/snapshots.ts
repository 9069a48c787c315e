import { Router, type Request } from 'express';
import { z } from 'zod';
import { idSchema } from '../../core/identity/caller.ts';
import { parseInput } from '../../core/parse-input.ts';
import type { Portability, SessionRef } from '../../portability/portability.ts';
import { tagsSchema } from '../../portability/session-snapshot.ts';
import type { SnapshotListAnswer } from '../../portability/snapshot-answers.ts';
import { queryInput } from '../call-context.ts';
import { sendJsonText } from '../json-text.ts';
import { streamedJsonBody } from '../streamed-body.ts';

/** The restore route, whose body is read as it arrives (`streamed-body.ts`). */
export const RESTORE_PATH = '/v1/snapshots/restore';

/**
 * Session snapshots (spec/002, spec/004); bodies of restores up to `importMaxBytes`:
 * - `GET  /v1/agents/{agent}/sessions/{session}/snapshot?tag=k=v&environment=`: export
 *   (`{session}` may be `latest`: the agent's newest live session, on every route here)
 * - `POST /v1/snapshots/restore?dry_run=true`: restore (the body is the snapshot)
 * - `POST /v1/agents/{agent}/sessions/{session}/snapshots?tag=k=v`: save to snapshot storage
 * - `GET  /v1/agents/{agent}/sessions/{session}/snapshots?limit=&start_after=`: list ids
 * - `GET  /v1/agents/{agent}/sessions/{session}/snapshots/{id|latest}`: load one
 */
export function snapshotRoutes(portability: Portability, importMaxBytes: number): Router {
  const router = Router();
  const base = '/v1/agents/:agent/sessions/:session';

  router.get(`${base}/snapshot`, async (req, res) => {
    const { tag } = parseInput(snapshotExportQuerySchema, queryInput(req), 'query');
    const text = await portability.exportSession(req.caller, sessionRef(req), tagsOf(tag));
    await sendJsonText(res, text);
  });
  router.post(RESTORE_PATH, async (req, res) => {
    const { dry_run } = parseInput(snapshotRestoreQuerySchema, queryInput(req), 'query');
    const snapshot = await streamedJsonBody(req, importMaxBytes);
    res.json(await portability.restoreSession(req.caller, snapshot, dry_run === 'true'));
  });
  router.post(`${base}/snapshots`, async (req, res) => {
    const { tag } = parseInput(snapshotExportQuerySchema, queryInput(req), 'query');
    res.status(201).json(await portability.checkpoint(req.caller, sessionRef(req), tagsOf(tag)));
  });
  router.get(`${base}/snapshots`, async (req, res) => {
    const { limit, start_after } = parseInput(snapshotListQuerySchema, queryInput(req), 'query');
    const page = await portability.listSnapshots(req.caller, sessionRef(req), {
      ...(limit === undefined ? {} : { limit }),
      ...(start_after === undefined ? {} : { startAfter: start_after }),
    });
    const answer: SnapshotListAnswer = {
      snapshot_ids: page.snapshotIds,
      count: page.snapshotIds.length,
      ...(page.nextToken === undefined ? {} : { next_token: page.nextToken }),
    };
    res.json(answer);
  });
  router.get(`${base}/snapshots/:id`, async (req, res) => {
    const id = req.params.id === 'latest' ? undefined : req.params.id;
    res.json(await portability.loadSnapshot(req.caller, sessionRef(req), id));
  });
  return router;
}

const tagSchema = z.string().regex(/^[^=]+=.*$/, 'a tag is key=value');
export const snapshotExportQuerySchema = z.strictObject({
  tag: z.union([tagSchema, z.array(tagSchema)]).exactOptional(),
});
export const snapshotRestoreQuerySchema = z.strictObject({
  dry_run: z.enum(['true', 'false']).exactOptional(),
});
export const snapshotListQuerySchema = z.strictObject({
  limit: z.number().int().min(1).max(1000).exactOptional(),
  start_after: z.string().exactOptional(),
});

function sessionRef(req: Request<Record<string, string>>): SessionRef {
  const agent = parseInput(idSchema, req.params['agent'], 'agent id');
  return { agent, sessionId: req.params['session'] ?? '' };
}

/** `key=value` tags, split at the first `=`. */
export function tagsOf(tag: string | string[] | undefined): Record<string, string> {
  const list = tag === undefined ? [] : Array.isArray(tag) ? tag : [tag];
  const tags = Object.fromEntries(
    list.map((item) => [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)]),
  );
  return parseInput(tagsSchema, tags, 'tags');
}
