import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

let w: TestWorker;
beforeAll(async () => {
  w = await startEmbeddedTestWorker();
}, 60_000);
afterAll(async () => w?.close());

it('/openapi.json documents the snapshot and admin routes with the schemas they parse and answer with', async () => {
  const doc = (await w.api.request('GET', '/openapi.json')).body;
  const session = '/v1/agents/{agent}/sessions/{session}';
  const json = (part: any) => part.content['application/json'].schema;
  const snapshot = json(doc.paths[`${session}/snapshot`].get.responses['200']);
  expect(snapshot.properties.schema_version).toEqual({ type: 'number', const: 1 });
  expect(snapshot.required).toEqual(expect.arrayContaining(['messages', 'events', 'checksum', 'tags']));
  const restore = doc.paths['/v1/snapshots/restore'].post;
  expect(json(restore.requestBody).properties.event_log_count).toBeDefined();
  expect(restore.parameters.map((p: { name: string }) => p.name)).toContain('dry_run');
  expect(json(restore.responses['200']).properties.messages_restored).toBeDefined();
  expect(doc.paths[`${session}/snapshots`].post.responses['201']).toBeDefined();
  const list = doc.paths[`${session}/snapshots`].get;
  expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(
    expect.arrayContaining(['agent', 'session', 'limit', 'start_after']),
  );
  expect(json(list.responses['200']).properties.next_token).toBeDefined();
  expect(doc.paths[`${session}/snapshots/{id}`].get).toBeDefined();
  const exported = doc.paths['/admin/export/{subject}'].get;
  expect(exported.parameters.map((p: { name: string }) => p.name)).toEqual(
    expect.arrayContaining(['subject', 'tenant_id']),
  );
  expect(json(exported.responses['200']).additionalProperties).toBe(false);
  const imported = doc.paths['/admin/import'].post;
  expect(Object.keys(json(imported.requestBody).properties)).toEqual([
    'document',
    'target_subject_id',
    'target_tenant_id',
    'preserve_ids',
  ]);
  expect(json(imported.responses['200']).properties.keys_renumbered).toBeDefined();
});
