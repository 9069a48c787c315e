import { describe, expect, it } from 'vitest';
import { expectAppError } from '../testing/conformance/assertions.ts';
import { decodeRecords, encodeRecords, type StateRecord } from './backup-records.ts';

async function* from<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}
const at = new Date(0).toISOString();
const records: StateRecord[] = [
  {
    type: 'persistent',
    agent: 'a1',
    key: 'k1',
    versions: [{ version: 1, value: 'ü🙂'.repeat(500), created_at: at, updated_at: at }],
  },
  { type: 'shared', key: 's1', value: { line: 'a\nb' }, version: 3, owner_agent: 'a1', updated_at: at },
  {
    type: 'persistent',
    agent: 'a2',
    key: 'k2',
    versions: [{ version: 2, value: null, created_at: at, updated_at: at }],
  },
];
const encoded = async () => Buffer.from((await collect(encodeRecords(from(records)))).join(''), 'utf8');
const cut = (bytes: Buffer, size: number) =>
  Array.from({ length: Math.ceil(bytes.byteLength / size) }, (_, i) =>
    bytes.subarray(i * size, (i + 1) * size),
  );

describe('backup records', () => {
  it('decode as they were encoded however the bytes are cut, inside characters too', async () => {
    const bytes = await encoded();
    for (const size of [1, 3, 1000, bytes.byteLength])
      expect(await collect(decodeRecords('b1', from(cut(bytes, size))))).toEqual(records);
  });

  it('are DecryptionFailed when not UTF-8, cut before the end record or with a wrong count', async () => {
    const bytes = await encoded();
    const broken = Buffer.concat([Buffer.from([0xff, 0x0a]), bytes]);
    await expectAppError(collect(decodeRecords('b1', from([broken]))), 'DecryptionFailed');
    await expectAppError(collect(decodeRecords('b1', from([bytes.subarray(0, -1)]))), 'DecryptionFailed');
    const lines = bytes.toString('utf8').split('\n');
    const dropped = Buffer.from([...lines.slice(0, 1), ...lines.slice(2)].join('\n'));
    await expectAppError(collect(decodeRecords('b1', from([dropped]))), 'DecryptionFailed');
  });
});
