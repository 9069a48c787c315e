import {
  checkpointPageSchema,
  checkpointTupleSchema,
  copyThreadInputSchema,
  copyThreadResultSchema,
  deleteThreadResultSchema,
  getCheckpointQuerySchema,
  listCheckpointsQuerySchema,
  listThreadsQuerySchema,
  putCheckpointInputSchema,
  putCheckpointResultSchema,
  putWritesInputSchema,
  putWritesResultSchema,
  threadPageSchema,
  uploadBlobResultSchema,
} from '../core/checkpoints/checkpoint-schemas.ts';
import type { Operation } from './openapi.ts';

const thread = '/v1/threads/{thread}';

/** The routes of `routes/threads.ts`, with the schemas they parse and answer with. */
export const threadOperations: readonly Operation[] = [
  {
    method: 'get',
    path: '/v1/threads',
    summary: "The agent's live threads, newest first, a page at a time",
    querySchema: listThreadsQuerySchema,
    response: threadPageSchema,
  },
  {
    method: 'delete',
    path: thread,
    summary: 'Delete a thread; a later put or writes that continue it are refused with KeyNotFound',
    response: deleteThreadResultSchema,
  },
  {
    method: 'post',
    path: `${thread}/copy`,
    summary: 'Copy every checkpoint and pending write of the thread to a new thread',
    body: copyThreadInputSchema,
    response: copyThreadResultSchema,
  },
  {
    method: 'put',
    path: `${thread}/checkpoints`,
    summary: 'Store a checkpoint with the values of the channels it changed',
    body: putCheckpointInputSchema,
    response: putCheckpointResultSchema,
  },
  {
    method: 'get',
    path: `${thread}/checkpoints`,
    summary: 'Checkpoints newest first; `filter` is a JSON object of metadata values',
    querySchema: listCheckpointsQuerySchema,
    response: checkpointPageSchema,
  },
  {
    method: 'get',
    path: `${thread}/checkpoint`,
    summary: "One checkpoint (the namespace's latest without `checkpoint_id`), with its pending writes",
    querySchema: getCheckpointQuerySchema,
    response: checkpointTupleSchema,
  },
  {
    method: 'post',
    path: `${thread}/writes`,
    summary: 'Store the pending writes of a task to a checkpoint',
    body: putWritesInputSchema,
    response: putWritesResultSchema,
  },
  {
    method: 'put',
    path: `${thread}/blobs/{blob}`,
    summary:
      'Upload a value too large for a record (application/octet-stream), for a checkpoint or write to name',
    binaryBody: true,
    response: uploadBlobResultSchema,
  },
  {
    method: 'get',
    path: `${thread}/blobs/{blob}`,
    summary: 'The bytes of an uploaded value (application/octet-stream)',
    binaryResponse: true,
  },
];
