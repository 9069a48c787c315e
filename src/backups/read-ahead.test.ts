import { describe, expect, it } from 'vitest';
import { readAhead } from './read-ahead.ts';

async function* numbers(count: number, log: string[], failAt?: number): AsyncGenerator<number> {
  for (let i = 0; i < count; i++) {
    if (i === failAt) throw new Error(`failed at ${i}`);
    log.push(`made ${i}`);
    yield i;
  }
}

describe('readAhead', () => {
  it('yields every item in order, producing at most depth items ahead', async () => {
    const log: string[] = [];
    const seen: number[] = [];
    for await (const n of readAhead(numbers(5, log), 2)) {
      // Before item n is consumed, items up to n + 2 may exist, never more.
      expect(log.filter((line) => line.startsWith('made')).length).toBeLessThanOrEqual(n + 3);
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(log).toContain(`made ${Math.min(4, n + 1)}`);
      seen.push(n);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it("passes the source's error on in its place", async () => {
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of readAhead(numbers(5, [], 3), 2)) seen.push(n);
      })(),
    ).rejects.toThrow('failed at 3');
    expect(seen).toEqual([0, 1, 2]);
  });
});
