import { describe, expect, it, vi } from 'vitest';
import type { Json } from '../../core/json.ts';
import type { EventHandler } from '../../ports/event-bus.ts';
import { eventually, expectAppError } from '../../testing/conformance/assertions.ts';
import { createMemoryBroker } from './memory-broker.ts';
import { createMemoryEventBus } from './memory-event-bus.ts';

const within = (assertion: () => void) => eventually(() => Promise.resolve(assertion()), 2_000, 5);
/** A handler that appends each event to `list`. */
const into =
  (list: Json[]): EventHandler =>
  (event) => {
    list.push(event);
    return Promise.resolve();
  };
const failing: EventHandler = () => Promise.reject(new Error('always'));

describe('createMemoryEventBus', () => {
  it('takes turns among competing subscriptions of one group and gives other groups their own copy', async () => {
    const broker = createMemoryBroker();
    const replicas = [createMemoryEventBus({ broker }), createMemoryEventBus({ broker })];
    const auditor = createMemoryEventBus({ broker, group: 'auditor' });
    const seen: Json[][] = [[], [], []];
    await replicas[0]!.subscribe('t', into(seen[0]!));
    await replicas[1]!.subscribe('t', into(seen[1]!));
    await auditor.subscribe('t', into(seen[2]!));
    for (let n = 0; n < 10; n++) await auditor.publish('t', n);
    await within(() => expect(seen[2]).toHaveLength(10));
    expect(seen[0]).toHaveLength(5);
    expect(seen[1]).toHaveLength(5);
    expect([...seen[0]!, ...seen[1]!].sort((a, b) => (a as number) - (b as number))).toEqual(seen[2]);
  });

  it('redelivers a failed competing event to the next replica in turn', async () => {
    const broker = createMemoryBroker({ retryDelayMs: 1 });
    const [broken, healthy] = [createMemoryEventBus({ broker }), createMemoryEventBus({ broker })];
    const handled: Json[] = [];
    await broken.subscribe('t', failing);
    await healthy.subscribe('t', into(handled));
    for (let n = 0; n < 4; n++) await broken.publish('t', n);
    await within(() => expect([...handled].sort()).toEqual([0, 1, 2, 3]));
  });

  it('gives up after maxAttempts deliveries and logs the dropped event', async () => {
    const log = vi.fn();
    const bus = createMemoryEventBus({
      broker: createMemoryBroker({ maxAttempts: 3, retryDelayMs: 1, log }),
    });
    let attempts = 0;
    await bus.subscribe(
      't',
      (event) => {
        attempts++;
        return failing(event);
      },
      { mode: 'broadcast' },
    );
    await bus.publish('t', 'poison');
    await within(() => expect(log).toHaveBeenCalledOnce());
    expect(attempts).toBe(3);
    expect(log.mock.calls[0]![1]).toMatchObject({ topic: 't', attempts: 3, error: 'always' });
  });

  it('hands every subscriber and every attempt its own copy of the event', async () => {
    const bus = createMemoryEventBus({ broker: createMemoryBroker({ retryDelayMs: 1 }) });
    const copies: Json[] = [];
    let attempt = 0;
    const vandal: EventHandler = (event) => {
      (event as { list: number[] }).list.push(99);
      return attempt++ === 0 ? failing(event) : into(copies)(event);
    };
    await bus.subscribe('t', vandal, { mode: 'broadcast' });
    await bus.subscribe('t', into(copies), { mode: 'broadcast' });
    const event = { list: [1] };
    await bus.publish('t', event);
    event.list.push(2);
    await within(() => expect(copies).toHaveLength(2));
    expect(copies).toContainEqual({ list: [1] });
    expect(copies).toContainEqual({ list: [1, 99] });
  });

  it('runs handlers after publish resolves, and close waits for those in flight', async () => {
    const bus = createMemoryEventBus();
    let release = () => {};
    let finished = false;
    let started = false;
    await bus.subscribe('t', async () => {
      started = true;
      await new Promise<void>((resolve) => (release = resolve));
      finished = true;
    });
    await bus.publish('t', 1);
    expect(started).toBe(false);
    await within(() => expect(started).toBe(true));
    let closed = false;
    const closing = bus.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(finished).toBe(true);
  });

  it('refuses publishing and subscribing once closed', async () => {
    const bus = createMemoryEventBus();
    await bus.close();
    await expectAppError(bus.publish('t', 1), 'Unavailable');
    await expectAppError(
      bus.subscribe('t', async () => {}),
      'SubscriptionFailed',
    );
  });
});
