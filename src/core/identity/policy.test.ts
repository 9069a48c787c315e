import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { emptyPolicy, parsePolicy, resolveDaprCaller, type Policy } from './policy.ts';

const json = JSON.stringify({
  apps: {
    'agent-gateway': { tenant: 'acme', roles: ['agent'], actForAgents: true },
    'backup-job': { tenant: 'acme', roles: ['operator'] },
  },
});

const yaml = `
# the same policy, as a Helm value would hold it
apps:
  agent-gateway:
    tenant: acme
    roles: [agent]
    actForAgents: true
  backup-job: { tenant: acme, roles: [operator] }
`;

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('parsePolicy', () => {
  it('reads JSON and YAML into the same policy, defaulting actForAgents to false', () => {
    const expected: Policy = {
      apps: {
        'agent-gateway': { tenant: 'acme', roles: ['agent'], actForAgents: true },
        'backup-job': { tenant: 'acme', roles: ['operator'], actForAgents: false },
      },
    };
    expect(parsePolicy(json)).toEqual(expected);
    expect(parsePolicy(yaml)).toEqual(expected);
    expect(parsePolicy('apps: {}')).toEqual(emptyPolicy);
  });

  it.each([
    ['text that is neither JSON nor YAML', '{ apps: [', /neither valid JSON nor valid YAML/],
    [
      'a duplicate app id',
      'apps:\n  a: {tenant: t, roles: [agent]}\n  a: {tenant: u, roles: [operator]}',
      /neither valid JSON nor valid YAML/,
    ],
    ['no apps', '{}', /apps/],
    ['an unknown role', '{"apps":{"a":{"tenant":"t","roles":["root"]}}}', /roles/],
    ['no roles', '{"apps":{"a":{"tenant":"t","roles":[]}}}', /roles/],
    ['a misspelt field', '{"apps":{"a":{"tenant":"t","roles":["agent"],"actForAgent":true}}}', /actForAgent/],
    ['a bad app id', '{"apps":{"../a":{"tenant":"t","roles":["agent"]}}}', /apps/],
    ['a bad tenant', '{"apps":{"a":{"tenant":"t/u","roles":["agent"]}}}', /tenant/],
    [
      'actForAgents not a boolean',
      '{"apps":{"a":{"tenant":"t","roles":["agent"],"actForAgents":"yes"}}}',
      /actForAgents/,
    ],
  ])('refuses %s with InvalidInput', (_name, text, message) => {
    const error = thrown(() => parsePolicy(text));
    expect(error.code).toBe('InvalidInput');
    expect(error.message).toMatch(message);
  });
});

describe('resolveDaprCaller', () => {
  const policy = parsePolicy(yaml);

  it('maps an app calling as itself to its tenant and roles', () => {
    expect(resolveDaprCaller(policy, 'backup-job', {})).toEqual({
      tenant: 'acme',
      principal: 'backup-job',
      roles: ['operator'],
      via: 'dapr',
      appId: 'backup-job',
    });
    expect(resolveDaprCaller(policy, 'agent-gateway', {})).toEqual({
      tenant: 'acme',
      principal: 'agent-gateway',
      roles: ['agent'],
      via: 'dapr',
      appId: 'agent-gateway',
    });
  });

  it('lets an app with actForAgents become the agent named in x-agent-id, as role agent in its tenant', () => {
    expect(resolveDaprCaller(policy, 'agent-gateway', { 'x-agent-id': 'a7' })).toEqual({
      tenant: 'acme',
      principal: 'a7',
      roles: ['agent'],
      via: 'dapr',
      appId: 'agent-gateway',
      actingFor: 'agent-gateway',
    });
  });

  it('refuses unknown apps, inherited property names and apps that may not act for agents with Forbidden', () => {
    for (const appId of ['stranger', 'constructor', '__proto__', 'toString']) {
      expect(thrown(() => resolveDaprCaller(policy, appId, {})).code).toBe('Forbidden');
    }
    const error = thrown(() => resolveDaprCaller(policy, 'backup-job', { 'x-agent-id': 'a7' }));
    expect(error.code).toBe('Forbidden');
    expect(error.message).toMatch(/may not act for agents/);
    expect(thrown(() => resolveDaprCaller(emptyPolicy, 'agent-gateway', {})).code).toBe('Forbidden');
  });

  it('refuses a malformed or repeated x-agent-id with InvalidInput', () => {
    for (const agent of ['', '../a1', 'a1, a2', 'a'.repeat(64)]) {
      expect(thrown(() => resolveDaprCaller(policy, 'agent-gateway', { 'x-agent-id': agent })).code).toBe(
        'InvalidInput',
      );
    }
    expect(
      thrown(() => resolveDaprCaller(policy, 'agent-gateway', { 'x-agent-id': ['a1', 'a2'] })).code,
    ).toBe('InvalidInput');
  });
});
