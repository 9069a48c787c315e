import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteKvStore } from '../../adapters/embedded/sqlite-kv-store.ts';
import type { KvStore } from '../../ports/kv-store.ts';
import { createEngineRuntime } from '../engine/engine-runtime.ts';
import { createAuditTrail, type AuditRecord } from './shared-audit.ts';

let kv: KvStore;
beforeEach(async () => {
  kv = createSqliteKvStore({ path: ':memory:' });
  await kv.init();
});
afterEach(async () => kv.close());

const record = (at: string, action = 'state.snapshot.create'): AuditRecord => ({
  id: randomUUID(),
  tenant: 't1',
  at,
  agent: 'ops',
  action,
  permission: 'notify',
  outcome: 'ok',
});
const trail = (retentionDays = 90) =>
  createAuditTrail(kv, 't1', { retentionDays, runtime: createEngineRuntime() });

describe('the audit trail, partitioned by day', () => {
  it('reads a time range, start included and end excluded, over several days', async () => {
    const records = [
      record('2030-01-01T23:59:59.000Z'),
      record('2030-01-02T00:00:00.000Z'),
      record('2030-01-02T12:00:00.000Z'),
      record('2030-01-03T00:00:00.000Z'),
    ];
    await trail().write(records);
    const range = await trail().readRange(new Date('2030-01-02T00:00:00Z'), new Date('2030-01-03T00:00:00Z'));
    expect(range.map((r) => r.at)).toEqual(['2030-01-02T00:00:00.000Z', '2030-01-02T12:00:00.000Z']);
    expect(
      await trail().readRange(new Date('2031-01-01T00:00:00Z'), new Date('2031-02-01T00:00:00Z')),
    ).toEqual([]);
  });

  it('drops whole days past retention once a newer record is written (default 90 days)', async () => {
    const old = record('2030-01-01T10:00:00.000Z');
    const kept = record('2030-02-15T10:00:00.000Z');
    await trail().write([old, kept]);
    // 2030-04-01 is 90 days after 2030-01-01: that day is kept, the day before would not be.
    await trail().write([record('2030-04-01T08:00:00.000Z')]);
    expect((await trail().readAll()).map((r) => r.at)).toContain(old.at);
    await trail().write([record('2030-04-02T08:00:00.000Z')]);
    const left = (await trail().readAll()).map((r) => r.at);
    expect(left).not.toContain(old.at);
    expect(left).toContain(kept.at);
    expect(await kv.get('t1/audit/p/2030-01-01/0')).toBeUndefined();
    expect((await kv.get('t1/audit/days'))?.value).toEqual({
      days: ['2030-02-15', '2030-04-01', '2030-04-02'],
    });
  });

  it('keeps a configured shorter retention', async () => {
    await trail(7).write([record('2030-01-01T00:00:00.000Z')]);
    await trail(7).write([record('2030-01-09T00:00:00.000Z')]);
    expect((await trail(7).readAll()).map((r) => r.at)).toEqual(['2030-01-09T00:00:00.000Z']);
  });
});
