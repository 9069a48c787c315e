// A backup, its verification and a restore of more state than this process may hold in
// its heap (run it with a small --max-old-space-size): argv[2] is an empty data folder,
// argv[3] the number of 64 KiB values. Prints the outcome as one JSON line; running out
// of heap ends the process with a V8 fatal error instead.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  createEnvFileSecretSource,
  createFolderBlobStore,
  createMemoryEventBus,
  createSqliteKvStore,
} from '../../src/adapters/embedded/index.ts';
import type { Caller } from '../../src/core/identity/caller.ts';
import type { Adapters } from '../../src/service/adapters.ts';
import { createStateServices } from '../../src/service/state-services.ts';

const [dataDir, count] = [process.argv[2]!, Number(process.argv[3])];
const adapters: Adapters = {
  family: 'embedded',
  kv: createSqliteKvStore({ path: join(dataDir, 'kv.sqlite') }),
  blobs: createFolderBlobStore({ root: join(dataDir, 'blobs') }),
  bus: createMemoryEventBus(),
  secrets: createEnvFileSecretSource({
    env: { AGENTSTATE_SECRET_AGENTSTATE_VAULT_KEY: randomBytes(32).toString('base64') },
  }),
};
for (const adapter of [adapters.kv, adapters.blobs, adapters.bus, adapters.secrets]) await adapter.init();
const services = createStateServices(adapters, {
  sessionIdleTimeoutSeconds: 1800,
  sessionMaxLifetimeSeconds: 86_400,
  sessionQuotaBytes: 50 * 1024 * 1024,
  persistentQuotaBytes: 4 * 1024 ** 3,
  persistentRetention: 2,
  sharedQuotaBytes: 500 * 1024 * 1024,
  auditRetentionDays: 90,
  snapshotRetention: 50,
  checkpointTtlSeconds: 0,
  checkpointRetention: 0,
  checkpointQuotaBytes: 100 * 1024 * 1024,
});
const operator: Caller = { tenant: 't1', principal: 'ops', roles: ['operator'], via: 'token' };

const state = services.persistent('t1', 'bulky');
for (let start = 0; start < count; start += 16) {
  const items = [];
  for (let i = start; i < Math.min(count, start + 16); i++)
    items.push({ key: `k${i}`, value: randomBytes(48 * 1024).toString('base64') });
  await state.load(items);
}
await state.settle();

const { backup_id } = await services.backups.create(operator);
await services.backups.settle();
const job = await services.backups.status(operator, backup_id);
const restored = await services.backups.restore(operator, backup_id);
const keys = (await state.list({ limit: 1 })).entries.length;
await services.backups.settle();
await state.settle();
for (const adapter of [adapters.kv, adapters.blobs, adapters.bus, adapters.secrets]) await adapter.close();
process.stdout.write(
  `${JSON.stringify({ status: job.status, bytes: job.file_size_bytes, restored, keys })}\n`,
);
