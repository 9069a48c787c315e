import { describe, expect, it } from 'vitest';
import { callerSchema, idSchema } from './caller.ts';

describe('idSchema', () => {
  it.each(['a', 'A1', '0', 'agent-gateway', 'acme.prod_eu-1', 'a'.repeat(63)])('accepts %j', (id) => {
    expect(idSchema.safeParse(id).success).toBe(true);
  });

  it.each(['', '-a', '.a', '_a', 'a/b', '../a', 'a b', 'a||b', 'a%2Fb', 'ä', 'a\u0000', 'a'.repeat(64)])(
    'refuses %j',
    (id) => {
      expect(idSchema.safeParse(id).success).toBe(false);
    },
  );
});

describe('callerSchema', () => {
  it('accepts a caller and refuses unknown fields, roles and repeated roles', () => {
    const caller = { tenant: 't', principal: 'a', roles: ['agent'], via: 'token' };
    expect(callerSchema.parse(caller)).toEqual(caller);
    expect(callerSchema.safeParse({ ...caller, admin: true }).success).toBe(false);
    expect(callerSchema.safeParse({ ...caller, roles: ['root'] }).success).toBe(false);
    expect(callerSchema.safeParse({ ...caller, roles: ['agent', 'agent'] }).success).toBe(false);
    expect(callerSchema.safeParse({ ...caller, roles: [] }).success).toBe(false);
  });
});
