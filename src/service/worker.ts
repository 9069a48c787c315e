import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApprovalDesk } from '../capabilities/approval-desk.ts';
import type { Capability } from '../capabilities/capability.ts';
import { createCapabilityInvoker } from '../capabilities/invoke.ts';
import { capabilities as allCapabilities, capabilityLookup } from '../capabilities/registry.ts';
import { resolveStore, type Config } from '../config.ts';
import { engineRuntimeOf } from '../core/engine/engine-runtime.ts';
import { createDenialAudit } from '../core/identity/denial-audit.ts';
import { TOKEN_KEY_SECRET } from '../core/identity/tokens.ts';
import { createApp } from '../http/app.ts';
import { createMetrics } from '../http/metrics.ts';
import { authenticate } from '../http/middleware/authenticate.ts';
import { capabilityRoutes } from '../http/routes/capabilities.ts';
import { persistentRoutes } from '../http/routes/persistent.ts';
import { sessionRoutes } from '../http/routes/sessions.ts';
import { sharedRoutes } from '../http/routes/shared.ts';
import { adminRoutes, IMPORT_PATH } from '../http/routes/admin.ts';
import { backupRoutes } from '../http/routes/backups.ts';
import { approvalRoutes } from '../http/routes/approvals.ts';
import { auditRoutes } from '../http/routes/audit.ts';
import { systemRoutes } from '../http/routes/system.ts';
import { startActivityFlush } from '../core/system/activity.ts';
import { mcpRoutes } from '../http/routes/mcp.ts';
import { RESTORE_PATH, snapshotRoutes } from '../http/routes/snapshots.ts';
import { createAutoCheckpoints } from '../portability/auto-checkpoints.ts';
import { createPortability } from '../portability/portability.ts';
import { createStateWriter } from '../portability/state-writer.ts';
import { watchRoutes } from '../http/routes/watch.ts';
import { threadRoutes } from '../http/routes/threads.ts';
import { checkpointsOver } from './checkpoint-services.ts';
import { startThreadSweep } from '../core/checkpoints/sweep-all.ts';
import type { Logger } from '../logging.ts';
import type { KvStore } from '../ports/kv-store.ts';
import { closeAdapters, openAdapters, type Adapters } from './adapters.ts';
import { createLiveChanges, startChangeDelivery } from './change-feed.ts';
import {
  ensureDevelopmentTokenKey,
  formatDevelopmentTokenBanner,
  isDevelopmentTokenKey,
  issueDevelopmentToken,
} from './dev-token.ts';
import { loadPolicy } from './policy-source.ts';
import { checkReadiness } from './readiness.ts';
import { createStateServices } from './state-services.ts';

export interface Worker {
  readonly url: string;
  readonly adapters: Adapters;
  /** Stops accepting, lets requests in flight finish (up to the grace period), closes adapters. */
  close(): Promise<void>;
}

export interface WorkerOptions {
  /** Where the development token notice goes. @default process.stderr */
  readonly notice?: (text: string) => void;
  /**
   * Wraps the opened store before anything uses it, e.g. to count calls and bytes in a
   * benchmark. The wrapper must delegate `close()`. @default the store itself
   */
  readonly wrapKv?: (kv: KvStore) => KvStore;
  /**
   * The capabilities the worker serves, e.g. with a test's own Approval Required one.
   * @default every capability of the spec (`registry.ts`)
   */
  readonly capabilities?: readonly Capability[];
}

/** How often a worker sweeps expired checkpoint threads and what ended lives left. */
const THREAD_SWEEP_MS = 5 * 60 * 1000;

/** How often a worker writes the agents' last activity it noted (coarse on purpose). */
const ACTIVITY_FLUSH_MS = 10_000;

/**
 * Opens the adapters (waiting for the sidecar in Dapr mode), starts delivering shared
 * changes to inboxes and live streams, then listens.
 */
export async function startWorker(
  config: Config,
  logger: Logger,
  options: WorkerOptions = {},
): Promise<Worker> {
  const { notice = (text: string) => process.stderr.write(text), wrapKv } = options;
  const capabilities = capabilityLookup(options.capabilities ?? allCapabilities);
  const policy = await loadPolicy(config);
  const developmentKey = await prepareDevelopmentKey(config);
  const opened = await openAdapters(config);
  const adapters = wrapKv === undefined ? opened : { ...opened, kv: wrapKv(opened.kv) };
  const stops: Array<() => Promise<void>> = [];
  try {
    const metrics = createMetrics();
    const services = createStateServices(adapters, config.limits, {
      ...config.backups,
      observe: ({ kind, scope, at }) => metrics.observeBackup(kind, scope, at),
      report: (what, error) => logger.error({ err: error }, `${what} failed`),
    });
    const approvals = createApprovalDesk({ services, capabilities });
    const invoke = createCapabilityInvoker({
      services,
      approvals,
      capabilities,
      // An agent acting for itself is active; a supervisor reading it does not make it so.
      onSuccess: (context) => {
        if (context.caller.principal === context.agent)
          services.activity.touch(context.caller.tenant, context.agent, new Date(), context.sessionId);
      },
      observe: (name, seconds, outcome) => metrics.observeCapability(name, seconds, outcome),
    });
    const portability = createPortability({
      services,
      writer: createStateWriter({
        kv: adapters.kv,
        persistent: (tenant, agent) => services.persistent(tenant, agent),
        limits: config.limits,
      }),
      blobs: adapters.blobs,
      environment: config.environment,
    });
    const activityFlush = startActivityFlush(services.activity, ACTIVITY_FLUSH_MS, (error) =>
      logger.warn({ err: error }, 'cannot record agent activity; retrying at the next flush'),
    );
    stops.push(() => activityFlush.stop());
    const delivery = await startChangeDelivery(adapters.bus, services.watches, logger);
    stops.push(() => delivery.close());
    const live = await createLiveChanges(adapters.bus);
    stops.push(() => live.close());

    const checkpointsOf = checkpointsOver(adapters, config.limits);
    const sweep = startThreadSweep(adapters.kv, checkpointsOf, THREAD_SWEEP_MS, (error, { tenant, agent }) =>
      logger.warn({ err: error, tenant, agent }, 'sweep of checkpoint threads failed; retrying at the next'),
    );
    stops.push(() => sweep.stop());

    const denials = createDenialAudit(adapters.kv);
    const app = createApp({
      logger,
      readiness: () => checkReadiness(adapters, TOKEN_KEY_SECRET),
      metrics,
      streamedBodies: [RESTORE_PATH, IMPORT_PATH],
      denials,
      authenticate: authenticate({
        tokenKey: () => adapters.secrets.get(TOKEN_KEY_SECRET),
        policy,
        ...(config.appApiToken === undefined ? {} : { appApiToken: config.appApiToken }),
        logger,
      }),
      routes: [
        capabilityRoutes(invoke),
        sessionRoutes(
          services,
          invoke,
          createAutoCheckpoints(services, portability, logger, config.checkpoints),
        ),
        persistentRoutes(invoke),
        watchRoutes({ watches: services.watches, live }),
        sharedRoutes(invoke),
        snapshotRoutes(portability, config.importMaxBytes),
        threadRoutes(checkpointsOf),
        adminRoutes(portability, config.importMaxBytes),
        backupRoutes(invoke, services.backups),
        systemRoutes(services, invoke),
        approvalRoutes(approvals),
        auditRoutes(services, denials),
        mcpRoutes({ invoke, allowedHosts: config.mcpAllowedHosts, logger }),
      ],
    });
    const server: Server = app.listen(config.port, config.host);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    logger.info(
      {
        url,
        store: adapters.family,
        adapters: [adapters.kv.traits.name, adapters.blobs.name, adapters.bus.name, adapters.secrets.name],
        dapr_callers: Object.keys(policy.apps),
      },
      'agentstate listening',
    );
    if (developmentKey !== undefined)
      notice(formatDevelopmentTokenBanner(await issueDevelopmentToken(developmentKey)));

    let closing: Promise<void> | undefined;
    return {
      url,
      adapters,
      close: () => (closing ??= shutdown(server, adapters, stops, config.shutdownGraceMs, logger)),
    };
  } catch (error) {
    await stopAll(stops);
    await closeAdapters(adapters);
    throw error;
  }
}

/**
 * On the embedded store with no token key configured, generates one into the data
 * folder (before the secret source reads it) and answers it, so the worker can print
 * a development token. Any configured key, and the Dapr store, answer `undefined`.
 */
async function prepareDevelopmentKey(config: Config): Promise<string | undefined> {
  if (resolveStore(config) !== 'embedded') return undefined;
  if ((process.env['AGENTSTATE_SECRET_AGENTSTATE_TOKEN_KEY'] ?? '') !== '') return undefined;
  const key = await ensureDevelopmentTokenKey(config.dataDir);
  return isDevelopmentTokenKey(key) ? key : undefined;
}

async function stopAll(stops: ReadonlyArray<() => Promise<void>>): Promise<void> {
  await Promise.allSettled(stops.map((stop) => stop()));
}

async function shutdown(
  server: Server,
  adapters: Adapters,
  stops: ReadonlyArray<() => Promise<void>>,
  graceMs: number,
  logger: Logger,
): Promise<void> {
  logger.info({ grace_ms: graceMs }, 'draining');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  // Ends the live streams, which would otherwise hold the server open for the whole grace.
  await stopAll(stops);
  await closed;
  clearTimeout(timer);
  // Background work (usage recounts, collection) would otherwise meet a closed store.
  await engineRuntimeOf(adapters.kv).background.close();
  await closeAdapters(adapters);
  logger.info('stopped');
}
