import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPEC_CAPABILITIES } from '../../src/testing/api/capability-suite.ts';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

let w: TestWorker;
beforeAll(async () => {
  w = await startEmbeddedTestWorker();
}, 60_000);
afterAll(async () => w?.close());

describe('/openapi.json', () => {
  it('describes every capability and REST route, with schemas generated from the zod schemas', async () => {
    const res = await w.api.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    for (const name of SPEC_CAPABILITIES) {
      const operation = doc.paths[`/v1/capabilities/${name}`]?.post;
      expect(operation, name).toBeDefined();
      expect(operation.requestBody.content['application/json'].schema.type).toBe('object');
      expect(operation.responses['200'].content['application/json'].schema).toBeTypeOf('object');
      expect(operation.responses['403'].content['application/json'].schema.$ref).toBe(
        '#/components/schemas/Error',
      );
    }
    for (const [path, methods] of Object.entries({
      '/v1/sessions': ['post'],
      '/v1/sessions/{id}': ['get', 'delete'],
      '/v1/sessions/{id}/state': ['get', 'delete'],
      '/v1/sessions/{id}/state/{key}': ['get', 'put', 'delete'],
      '/v1/sessions/{id}/messages': ['get', 'post'],
      '/v1/sessions/{id}/events': ['get', 'post'],
      '/v1/agents/{agent}/state': ['get'],
      '/v1/agents/{agent}/query': ['get'],
      '/v1/agents/{agent}/state/{key}': ['get', 'put', 'delete'],
      '/v1/agents/{agent}/state/{key}/history': ['get'],
      '/v1/agents/{agent}/inbox': ['get'],
      '/v1/agents/{agent}/inbox/ack': ['post'],
      '/v1/shared/keys': ['get'],
      '/v1/shared/keys/{key}': ['get', 'put', 'delete'],
      '/v1/shared/watch': ['get'],
      '/v1/approvals': ['get'],
      '/v1/approvals/{id}': ['get'],
      '/v1/approvals/{id}/approve': ['post'],
      '/v1/approvals/{id}/deny': ['post'],
      '/v1/audit': ['get'],
      '/v1/snapshots/system': ['get', 'post'],
      '/v1/snapshots/system/{id}': ['get'],
      '/v1/briefing': ['get'],
      '/v1/journal': ['post'],
    })) {
      for (const method of methods) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    const setInput =
      doc.paths['/v1/capabilities/state.shared.set'].post.requestBody.content['application/json'].schema;
    expect(setInput.required).toEqual(expect.arrayContaining(['key', 'value', 'expected_version']));
    const ifMatch = doc.paths['/v1/shared/keys/{key}'].put.parameters.find(
      (p: { name: string }) => p.name === 'If-Match',
    );
    expect(ifMatch).toMatchObject({ in: 'header', required: true });
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toContain('VersionConflict');
    // A call that needs approval answers 202 with the pending approval's id.
    expect(doc.components.schemas.Error.properties.approval_id).toBeDefined();
    expect(doc.paths['/v1/capabilities/state.snapshot.create'].post.responses['202']).toBeDefined();
  });

  it('is a valid OpenAPI 3.1 document whose every $ref resolves', async () => {
    const doc = (await w.api.request('GET', '/openapi.json')).body;
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('documents the catalogue, the probes, and the headers that name the agent and the session', async () => {
    const doc = (await w.api.request('GET', '/openapi.json')).body;
    expect(doc.paths['/v1/capabilities'].get.responses['200']).toBeDefined();
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      expect(doc.paths[path]?.get?.security, path).toEqual([]);
    }
    expect(doc.components.parameters.AgentId).toMatchObject({ name: 'x-agent-id', in: 'header' });
    expect(doc.components.parameters.SessionId).toMatchObject({ name: 'x-session-id', in: 'header' });
    expect(doc.paths['/v1/capabilities/state.session.get'].post.parameters).toEqual(
      expect.arrayContaining([
        { $ref: '#/components/parameters/AgentId' },
        { $ref: '#/components/parameters/SessionId' },
      ]),
    );
    const ifMatch = doc.paths['/v1/shared/keys/{key}'].delete.parameters.find(
      (p: { name: string }) => p.name === 'If-Match',
    );
    expect(ifMatch).toMatchObject({ in: 'header', required: false });
  });

  it('answers without credentials, like the probes', async () => {
    expect((await w.api.request('GET', '/openapi.json')).status).toBe(200);
    expect((await w.api.request('GET', '/metrics')).status).toBe(200);
    expect((await w.api.request('GET', '/v1/capabilities')).status).toBe(401);
  });
});
