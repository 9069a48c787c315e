import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiClient, tokenMinter } from '../../src/testing/api/api-client.ts';
import { agentstateComponents, TEST_TOKEN_KEY } from '../../src/testing/api/test-worker.ts';
import {
  describeWithDapr,
  freePort,
  makeTempDir,
  spawnWorkerProcess,
  startDaprd,
  startRedis,
  type DaprSidecar,
  type RedisServer,
  type WorkerProcess,
} from '../../src/testing/harness/index.ts';

// A worker process killed (SIGKILL, no chance to clean up) in the middle of a backup:
// nothing may be listed as complete, and the next backup, on a new process, succeeds.
describeWithDapr('a worker killed during a backup (daprd + Redis + localstorage)', () => {
  let redis: RedisServer;
  let sidecar: DaprSidecar;
  let appPort: number;
  let worker: WorkerProcess | undefined;
  const api = () => apiClient(`http://127.0.0.1:${appPort}`);
  let token: string;
  let dir: string;

  beforeAll(async () => {
    redis = await startRedis();
    dir = await makeTempDir('backup-kill');
    appPort = await freePort();
    sidecar = await startDaprd({
      appId: 'agentstate',
      appPort,
      components: await agentstateComponents(redis, dir),
    });
    worker = await spawnWorkerProcess({
      port: appPort,
      env: {
        DAPR_HTTP_PORT: String(sidecar.httpPort),
        DAPR_GRPC_PORT: String(sidecar.grpcPort),
        // Small chunks and one blob per few of them: a backup of many writes, long enough to be killed in.
        AGENTSTATE_BACKUP_CHUNK_BYTES: '1024',
      },
      readyTimeoutMs: 60_000,
    });
    await sidecar.waitHealthy();
    token = await tokenMinter(TEST_TOKEN_KEY)('kill', 'ops', ['operator']);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await sidecar?.stop();
    await redis?.stop();
  });

  it(
    'lists no backup as complete after the kill, and the next backup succeeds',
    { timeout: 300_000 },
    async () => {
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            api().request(
              'PUT',
              `/v1/agents/bot/state/k${batch}-${i}`,
              { text: randomBytes(1024).toString('hex') },
              { token },
            ),
          ),
        );
      }
      const started = await api().request('POST', '/v1/backups', {}, { token });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      // Killed once the job is encrypting, before it can have written its manifest.
      await expect
        .poll(
          async () =>
            (await api().request('GET', `/v1/backups/${started.body.backup_id}`, undefined, { token })).body
              .file_size_bytes,
          {
            timeout: 60_000,
            interval: 20,
          },
        )
        .toBeGreaterThan(0);
      expect((await worker!.kill()).signal).toBe('SIGKILL');

      worker = await worker!.respawn();
      expect((await api().request('GET', '/v1/backups', undefined, { token })).body).toEqual({
        backups: [],
        count: 0,
      });
      const killed = await api().request('GET', `/v1/backups/${started.body.backup_id}`, undefined, {
        token,
      });
      expect(killed.body.status).not.toBe('complete');
      expectRestoreRefused(
        await api().request('POST', `/v1/backups/${started.body.backup_id}/restore`, {}, { token }),
      );

      const killedData = join(dir, 'blobs', 'backups', started.body.backup_id);
      expect(filesUnder(killedData)).not.toEqual([]);
      // Once the killed job's status was not refreshed for long, it reads as failed, and
      // the next backup collects its parts.
      await expect
        .poll(
          async () =>
            (await api().request('GET', `/v1/backups/${started.body.backup_id}`, undefined, { token })).body
              .status,
          { timeout: 90_000, interval: 1000 },
        )
        .toBe('failed');
      const next = await api().request('POST', '/v1/backups', {}, { token });
      await expect
        .poll(
          async () =>
            (await api().request('GET', `/v1/backups/${next.body.backup_id}`, undefined, { token })).body
              .status,
          {
            timeout: 120_000,
            interval: 200,
          },
        )
        .toBe('complete');
      // bindings.localstorage removes files and leaves their folders: what counts is the files.
      await expect.poll(() => filesUnder(killedData), { timeout: 30_000, interval: 100 }).toEqual([]);
      expect(filesUnder(join(dir, 'blobs', 'backups', next.body.backup_id))).not.toEqual([]);
      const listed = await api().request('GET', '/v1/backups', undefined, { token });
      expect(listed.body.backups.map((b: { backup_id: string }) => b.backup_id)).toEqual([
        next.body.backup_id,
      ]);
      const verified = await api().request(
        'POST',
        `/v1/backups/${next.body.backup_id}/verify`,
        {},
        { token },
      );
      expect(verified.body).toMatchObject({ verified: true });
    },
  );
});

function expectRestoreRefused(res: { status: number; body: any }): void {
  expect(res.body.error.code).toBe('BackupNotFound');
  expect(res.status).toBe(404);
}

/** The files below `folder`, none if it does not exist. */
function filesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}
