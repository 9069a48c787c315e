import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../../core/json.ts';
import type { EventBus } from '../../ports/event-bus.ts';
import { eventually } from './assertions.ts';
import type { ConformanceTarget } from './target.ts';

/**
 * The semantics of `EventBus` (src/ports/event-bus.ts). The target creates two buses
 * that stand for two replicas of one app (for Dapr: two sidecars with one app id).
 */
export function eventBusConformance(target: ConformanceTarget<[EventBus, EventBus]>): void {
  describe.skipIf(target.skip !== undefined)(
    `EventBus conformance: ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`,
    () => {
      let first: EventBus;
      let second: EventBus;
      const topic = () => `conformance-${randomUUID()}`;

      beforeAll(async () => {
        [first, second] = await target.create();
        await Promise.all([first.init(), second.init()]);
      }, target.setupTimeoutMs ?? 180_000);

      afterAll(async () => {
        await Promise.all([first?.close(), second?.close()]);
        await target.destroy?.();
      }, 60_000);

      it('delivers a published event to a subscriber, intact', async () => {
        const t = topic();
        const received: Json[] = [];
        const subscription = await first.subscribe(t, async (event) => void received.push(event));
        const event = { key: 'config.mode', version: 3, nested: { unicode: 'ü🙂' }, list: [1, null] };
        await second.publish(t, event);
        await eventually(async () => expect(received).toEqual([event]), 15_000);
        await subscription.close();
      }, 30_000);

      it('shares events among competing replicas: each event reaches one of them', async () => {
        const t = topic();
        const byReplica: [number[], number[]] = [[], []];
        const subscriptions = await Promise.all([
          first.subscribe(t, async (event) => void byReplica[0].push((event as { n: number }).n)),
          second.subscribe(t, async (event) => void byReplica[1].push((event as { n: number }).n)),
        ]);
        const sent = Array.from({ length: 20 }, (_, n) => n);
        for (const n of sent) await first.publish(t, { n });
        await eventually(
          async () => expect([...byReplica[0], ...byReplica[1]].sort((a, b) => a - b)).toEqual(sent),
          20_000,
        );
        expect(byReplica[0].filter((n) => byReplica[1].includes(n))).toEqual([]);
        await Promise.all(subscriptions.map((s) => s.close()));
      }, 40_000);

      it('broadcasts every event to every replica', async () => {
        const t = topic();
        const byReplica: [number[], number[]] = [[], []];
        const subscriptions = await Promise.all([
          first.subscribe(t, async (event) => void byReplica[0].push((event as { n: number }).n), {
            mode: 'broadcast',
          }),
          second.subscribe(t, async (event) => void byReplica[1].push((event as { n: number }).n), {
            mode: 'broadcast',
          }),
        ]);
        const sent = Array.from({ length: 10 }, (_, n) => n);
        for (const n of sent) await second.publish(t, { n });
        await eventually(async () => {
          expect([...new Set(byReplica[0])].sort((a, b) => a - b)).toEqual(sent);
          expect([...new Set(byReplica[1])].sort((a, b) => a - b)).toEqual(sent);
        }, 20_000);
        await Promise.all(subscriptions.map((s) => s.close()));
      }, 40_000);

      it('redelivers an event whose handler failed', async () => {
        const t = topic();
        let attempts = 0;
        const handled: Json[] = [];
        const subscription = await first.subscribe(t, async (event) => {
          attempts++;
          if (attempts === 1) throw new Error('transient failure');
          handled.push(event);
        });
        await first.publish(t, { once: true });
        await eventually(async () => expect(handled).toEqual([{ once: true }]), 30_000, 200);
        expect(attempts).toBeGreaterThanOrEqual(2);
        await subscription.close();
      }, 45_000);

      it('stops delivering once a subscription is closed', async () => {
        const t = topic();
        const received: Json[] = [];
        const subscription = await first.subscribe(t, async (event) => void received.push(event));
        await first.publish(t, 'before');
        await eventually(async () => expect(received).toEqual(['before']), 15_000);
        await subscription.close();
        await first.publish(t, 'after');
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect(received).toEqual(['before']);
      }, 30_000);
    },
  );
}
