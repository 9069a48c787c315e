import { backupRoundTripSuite } from '../../src/testing/api/backup-suite.ts';
import { startEmbeddedTestWorker } from '../../src/testing/api/test-worker.ts';

backupRoundTripSuite('--url, embedded worker', async () => {
  const worker = await startEmbeddedTestWorker({ AGENTSTATE_BACKUP_CHUNK_BYTES: '1024' });
  return { worker, flags: `--url ${worker.worker.url}`, env: {}, close: () => worker.close() };
});
