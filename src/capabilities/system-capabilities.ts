import { randomUUID } from 'node:crypto';
import { briefingInputSchema, briefingResultSchema, composeBriefing } from '../core/briefing/briefing.ts';
import { canAccessShared } from '../core/identity/authorize.ts';
import {
  snapshotCreateInputSchema,
  snapshotListInputSchema,
  snapshotListResultSchema,
  snapshotLoadInputSchema,
  snapshotLoadResultSchema,
  snapshotSummarySchema,
} from '../core/system/system-snapshot.ts';
import { gatherBriefingFacts } from './briefing-facts.ts';
import { defineCapability } from './capability.ts';
import { captureSystem } from './system-capture.ts';

// System snapshots cover the caller's tenant: any role of it may take, list and load
// them (the spec makes them Notify and Autonomous); another tenant's are never reached.

export const snapshotCapabilities = [
  defineCapability({
    name: 'state.snapshot.create',
    permission: 'notify',
    description:
      "Creates a point-in-time snapshot of the tenant's system state: agents, resource usage, pending approvals, alerts, health and state statistics.",
    input: snapshotCreateInputSchema,
    output: snapshotSummarySchema,
    run: async (services, { caller }) => {
      canAccessShared(caller, caller.tenant, 'read');
      const store = services.systemSnapshots(caller.tenant);
      const now = new Date();
      const snapshotId = await store.claimId(now);
      const snapshot = await captureSystem(
        services,
        caller.tenant,
        { snapshot_id: snapshotId, taken_by: caller.principal },
        now,
      );
      const summary = await store.save(snapshot);
      // Notify: an audit record and a notification, after the snapshot is complete.
      const at = new Date().toISOString();
      await services.audit(caller.tenant).write([
        {
          id: randomUUID(),
          tenant: caller.tenant,
          at,
          agent: caller.principal,
          action: 'state.snapshot.create',
          permission: 'notify',
          outcome: 'ok',
          details: { snapshot_id: summary.snapshot_id, size_bytes: summary.size_bytes },
        },
      ]);
      await services.notify({
        kind: 'state.snapshot.create',
        tenant: caller.tenant,
        agent: caller.principal,
        snapshot_id: summary.snapshot_id,
        at,
      });
      await store.prune();
      return summary;
    },
  }),
  defineCapability({
    name: 'state.snapshot.list',
    permission: 'autonomous',
    description: "Lists the tenant's system snapshots, newest first, with timestamps and sizes.",
    input: snapshotListInputSchema,
    output: snapshotListResultSchema,
    run: async (services, { caller }) => {
      canAccessShared(caller, caller.tenant, 'read');
      const snapshots = await services.systemSnapshots(caller.tenant).list();
      return { snapshots, count: snapshots.length };
    },
  }),
  defineCapability({
    name: 'state.snapshot.load',
    permission: 'autonomous',
    description: 'Loads a system snapshot by id, returning the full captured state.',
    input: snapshotLoadInputSchema,
    output: snapshotLoadResultSchema,
    run: async (services, { caller }, { snapshot_id }) => {
      canAccessShared(caller, caller.tenant, 'read');
      return { snapshot: await services.systemSnapshots(caller.tenant).load(snapshot_id) };
    },
  }),
];

export const briefingCapabilities = [
  defineCapability({
    name: 'state.briefing.generate',
    permission: 'autonomous',
    description:
      "Generates a rule-based briefing of what changed since the agent's last activity (or since): shared and persistent changes by others, pending approvals, unread messages, journal entries, alerts and health.",
    input: briefingInputSchema,
    output: briefingResultSchema,
    run: async (services, context, { since, detail_level }) => {
      const facts = await gatherBriefingFacts(services, context, since, new Date());
      return { briefing: composeBriefing(facts, detail_level) };
    },
  }),
];
