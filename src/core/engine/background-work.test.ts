import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBackgroundWork } from './background-work.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('background work', () => {
  it('runs a task scheduled for later once its wait has passed, restarting the wait when scheduled again', async () => {
    vi.useFakeTimers();
    const work = createBackgroundWork(() => undefined);
    const ran: string[] = [];
    work.later('recount a', 1_000, async () => void ran.push('first'));
    await vi.advanceTimersByTimeAsync(600);
    work.later('recount a', 1_000, async () => void ran.push('second'));
    await vi.advanceTimersByTimeAsync(600);
    expect(ran).toEqual([]);
    await vi.advanceTimersByTimeAsync(400);
    await work.settle();
    expect(ran).toEqual(['second']);
  });

  it('on close, cancels the waiting tasks, waits for the running ones and drops new ones', async () => {
    vi.useFakeTimers();
    const errors: unknown[] = [];
    const work = createBackgroundWork((_what, error) => errors.push(error));
    const ran: string[] = [];
    let finish = (): void => undefined;
    work.run('running', () =>
      new Promise<void>((resolve) => (finish = resolve)).then(() => void ran.push('running')),
    );
    work.later('waiting', 1_000, async () => void ran.push('waiting'));

    const closed = work.close();
    work.run('after close', async () => void ran.push('after close'));
    work.later('after close, later', 0, async () => void ran.push('after close, later'));
    let settled = false;
    void closed.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(settled).toBe(false);
    finish();
    await closed;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(ran).toEqual(['running']);
    expect(errors).toEqual([]);
  });
  it('ends a pause when its time has passed, or at once on close, so the paused task still runs', async () => {
    vi.useFakeTimers();
    const work = createBackgroundWork(() => undefined);
    const ran: string[] = [];
    work.run('gathers a moment', async () => {
      await work.pause(1_000);
      ran.push('first');
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(ran).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await work.settle();
    expect(ran).toEqual(['first']);

    work.run('gathers another moment', async () => {
      await work.pause(60_000);
      ran.push('second');
    });
    await work.close();
    expect(ran).toEqual(['first', 'second']);
  });
});
