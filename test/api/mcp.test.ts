import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capabilityCatalogue } from '../../src/capabilities/catalogue.ts';
import { SPEC_CAPABILITIES } from '../../src/testing/api/capability-suite.ts';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

let w: TestWorker;
beforeAll(async () => {
  w = await startEmbeddedTestWorker();
}, 60_000);
afterAll(async () => w?.close());

/** An MCP client of the SDK connected to the worker's `/mcp` with `headers` on every request. */
async function connect(headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'agentstate-test', version: '1' });
  const transport = new StreamableHTTPClientTransport(new URL(`${w.api.url}/mcp`), {
    requestInit: { headers },
  });
  await client.connect(transport);
  return client;
}

const textOf = (result: Record<string, unknown>) =>
  JSON.parse((result['content'] as [{ text: string }])[0].text);

describe('MCP at /mcp', () => {
  it('lists every capability as a tool with its catalogue name, description and input schema', async () => {
    const client = await connect({ authorization: `Bearer ${await w.token('acme', 'agent-1')}` });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(capabilityCatalogue.map((c) => c.name).sort());
    for (const name of SPEC_CAPABILITIES) {
      const tool = tools.find((t) => t.name === name);
      const described = capabilityCatalogue.find((c) => c.name === name);
      expect(tool?.description, name).toBe(described?.description);
      expect(tool?.inputSchema.type, name).toBe('object');
      expect(tool?.inputSchema.properties, name).toEqual(described?.input_schema['properties']);
    }
    const set = tools.find((t) => t.name === 'state.persistent.set');
    expect(set?.inputSchema.required).toEqual(expect.arrayContaining(['key', 'value']));
    await client.close();
  });

  it('sets and gets persistent state as the token’s agent, the same state the RPC sees', async () => {
    const token = await w.token('acme', 'agent-mcp');
    const client = await connect({ authorization: `Bearer ${token}` });
    const set = await client.callTool({
      name: 'state.persistent.set',
      arguments: { key: 'notes.today', value: { mood: 'fine' } },
    });
    expect(set.isError).toBeFalsy();
    expect(set.structuredContent).toEqual({ version: 1, previous_version: 0 });
    const got = await client.callTool({ name: 'state.persistent.get', arguments: { key: 'notes.today' } });
    expect(got.structuredContent).toMatchObject({ value: { mood: 'fine' }, version: 1, found: true });
    expect(textOf(got)).toEqual(got.structuredContent);
    const rpc = await w.api.call('state.persistent.get', { key: 'notes.today' }, { token });
    expect(rpc.body).toEqual(got.structuredContent);
    await client.close();
  });

  it('answers errors as tool errors carrying the error code, and writes nothing on bad input', async () => {
    const token = await w.token('acme', 'agent-bad');
    const client = await connect({ authorization: `Bearer ${token}` });
    const bad = await client.callTool({ name: 'state.persistent.set', arguments: { key: '../x', value: 1 } });
    expect(bad.isError).toBe(true);
    expect(textOf(bad).error.code).toBe('InvalidInput');
    const unknownField = await client.callTool({
      name: 'state.persistent.set',
      arguments: { key: 'k', value: 1, extra: true },
    });
    expect(textOf(unknownField).error.code).toBe('InvalidInput');
    const missing = await client.callTool({ name: 'state.session.get', arguments: { key: 'k' } });
    expect(textOf(missing).error.code).toBe('SessionNotFound');
    const noSuchTool = await client.callTool({ name: 'state.nothing', arguments: {} });
    expect(textOf(noSuchTool).error.code).toBe('RouteNotFound');
    const list = await w.api.call('state.persistent.list', {}, { token });
    expect(list.body.count).toBe(0);
    await client.close();
  });

  it('applies the same authorization: an agent token may not act for another agent', async () => {
    const refused = connect({
      authorization: `Bearer ${await w.token('acme', 'agent-a')}`,
      'x-agent-id': 'agent-b',
    });
    await expect(refused).rejects.toMatchObject({ code: 403, message: expect.stringMatching(/"Forbidden"/) });
  });

  it('refuses a client without a token with Unauthenticated', async () => {
    await expect(connect({})).rejects.toMatchObject({
      code: 401,
      message: expect.stringMatching(/"code":"Unauthenticated"/),
    });
  });

  it('refuses a foreign Host header (DNS rebinding) before any tool runs', async () => {
    const token = await w.token('acme', 'agent-host');
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'state.persistent.set', arguments: { key: 'rebound', value: 1 } },
    });
    const answer = await post(`${w.api.url}/mcp`, body, {
      host: 'attacker.example',
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    });
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('Invalid Host');
    const list = await w.api.call('state.persistent.list', {}, { token });
    expect(list.body.count).toBe(0);
  });

  it('is POST only: GET and DELETE are 405, as a stateless server has no session stream', async () => {
    const token = await w.token('acme', 'agent-1');
    const res = await w.api.request('GET', '/mcp', undefined, { token });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('is described in /openapi.json', async () => {
    const doc = (await w.api.request('GET', '/openapi.json')).body;
    expect(doc.paths['/mcp'].post.responses['200']).toBeDefined();
  });
});

/** A POST with exactly these headers (fetch would not let a test set `Host`). */
function post(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
