import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { canAccessAgentScope, canAccessShared, canOperate, type AccessMode } from './authorize.ts';
import type { Caller, Role } from './caller.ts';

// Every caller is principal `me` of tenant `t1`.
const callerWith = (roles: Role[], extra: Partial<Caller> = {}): Caller => ({
  tenant: 't1',
  principal: 'me',
  roles,
  via: 'token',
  ...extra,
});

type Scope =
  | 'own agent'
  | 'other agent'
  | 'agent of other tenant'
  | 'shared'
  | 'shared of other tenant'
  | 'operate'
  | 'operate other tenant';

const check: Record<Scope, (caller: Caller, mode: AccessMode) => void> = {
  'own agent': (caller, mode) => canAccessAgentScope(caller, 't1', 'me', mode),
  'other agent': (caller, mode) => canAccessAgentScope(caller, 't1', 'someone-else', mode),
  'agent of other tenant': (caller, mode) => canAccessAgentScope(caller, 't2', 'me', mode),
  shared: (caller, mode) => canAccessShared(caller, 't1', mode),
  'shared of other tenant': (caller, mode) => canAccessShared(caller, 't2', mode),
  // Operating has no read/write split; both modes must give the same answer.
  operate: (caller) => canOperate(caller, 't1'),
  'operate other tenant': (caller) => canOperate(caller, 't2'),
};

type Cell = 'allow' | 'deny';
// [read, write] per scope and role: the whole matrix, every cell written out.
const matrix: Record<Role, Record<Scope, [Cell, Cell]>> = {
  agent: {
    'own agent': ['allow', 'allow'],
    'other agent': ['deny', 'deny'],
    'agent of other tenant': ['deny', 'deny'],
    shared: ['allow', 'allow'],
    'shared of other tenant': ['deny', 'deny'],
    operate: ['deny', 'deny'],
    'operate other tenant': ['deny', 'deny'],
  },
  supervisor: {
    'own agent': ['allow', 'deny'],
    'other agent': ['allow', 'deny'],
    'agent of other tenant': ['deny', 'deny'],
    shared: ['allow', 'allow'],
    'shared of other tenant': ['deny', 'deny'],
    operate: ['deny', 'deny'],
    'operate other tenant': ['deny', 'deny'],
  },
  operator: {
    'own agent': ['allow', 'allow'],
    'other agent': ['allow', 'allow'],
    'agent of other tenant': ['deny', 'deny'],
    shared: ['allow', 'allow'],
    'shared of other tenant': ['deny', 'deny'],
    operate: ['allow', 'allow'],
    'operate other tenant': ['deny', 'deny'],
  },
};

const cells = Object.entries(matrix).flatMap(([role, scopes]) =>
  Object.entries(scopes).flatMap(([scope, [read, write]]) => [
    { role: role as Role, scope: scope as Scope, mode: 'read' as const, expected: read },
    { role: role as Role, scope: scope as Scope, mode: 'write' as const, expected: write },
  ]),
);

function outcome(fn: () => void): Cell {
  try {
    fn();
    return 'allow';
  } catch (error) {
    if (error instanceof AppError && error.code === 'Forbidden') return 'deny';
    throw error;
  }
}

describe('authorization matrix (roles x scopes x modes)', () => {
  it('covers 3 roles x 7 scopes x 2 modes', () => expect(cells).toHaveLength(42));

  it.each(cells)('$role: $mode $scope -> $expected', ({ role, scope, mode, expected }) => {
    expect(outcome(() => check[scope](callerWith([role]), mode))).toBe(expected);
  });

  it('adds roles up: an agent that is also a supervisor reads others and writes only itself', () => {
    const both = callerWith(['agent', 'supervisor']);
    expect(outcome(() => canAccessAgentScope(both, 't1', 'other', 'read'))).toBe('allow');
    expect(outcome(() => canAccessAgentScope(both, 't1', 'other', 'write'))).toBe('deny');
    expect(outcome(() => canAccessAgentScope(both, 't1', 'me', 'write'))).toBe('allow');
  });

  it('lets canOperate without a tenant check the role only', () => {
    expect(outcome(() => canOperate(callerWith(['operator'])))).toBe('allow');
    expect(outcome(() => canOperate(callerWith(['supervisor'])))).toBe('deny');
  });

  it('says who was refused what, naming the gateway for a delegated caller', () => {
    const delegated = callerWith(['agent'], { via: 'dapr', appId: 'gw', actingFor: 'gw' });
    expect(() => canAccessAgentScope(delegated, 't1', 'b', 'write')).toThrowError(
      '"me" of tenant "t1" [agent] (through app "gw") may not write the state of agent "b"',
    );
    expect(() => canAccessShared(delegated, 't2', 'read')).toThrowError(
      /may not read the shared state of tenant "t2"/,
    );
    expect(() => canOperate(delegated)).toThrowError(/is not an operator/);
  });
});
