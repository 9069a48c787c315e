import { describe, expect, it } from 'vitest';
import { createEngineRuntime } from './engine-runtime.ts';

describe('engine runtime', () => {
  it('keeps one singleton per kind and namespace', () => {
    const runtime = createEngineRuntime();
    const first = runtime.singleton('usage', 'a/', () => ({ n: 1 }));
    expect(runtime.singleton('usage', 'a/', () => ({ n: 2 }))).toBe(first);
    expect(runtime.singleton('collector', 'a/', () => ({ n: 3 }))).not.toBe(first);
  });

  it('forgets the least recently used namespace past 10,000, so sessions do not grow it without end', () => {
    const runtime = createEngineRuntime();
    const kept = runtime.singleton('usage', 'kept/', () => ({}));
    const dropped = runtime.singleton('usage', 'dropped/', () => ({}));
    for (let n = 0; n < 9_999; n++) {
      runtime.singleton('usage', `s${n}/`, () => ({}));
      if (n % 1000 === 0) runtime.singleton('usage', 'kept/', () => ({}));
    }
    expect(runtime.singleton('usage', 'kept/', () => ({}))).toBe(kept);
    expect(runtime.singleton('usage', 'dropped/', () => ({}))).not.toBe(dropped);
  });
});
