import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEnvFileSecretSource, createFolderBlobStore } from '../adapters/embedded/index.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import { createBackupArchive } from './backup-archive.ts';
import type { PersistentRecord, StateRecord } from './backup-records.ts';
import { createVault } from './vault.ts';

// How much of the state a backup holds in flight, in bytes, measured by what goes in
// and out of the archive rather than by the garbage collector, whose timing no test
// controls: the plaintext the archive has pulled from its records and not yet stored,
// and the parts it has fetched and not yet handed out as records. Both must stay
// bounded whatever the size of the backup. The values are random base64, which
// compresses at one steady ratio, so stored bytes convert back to plaintext.

const MIB = 1024 * 1024;
const VALUE_BYTES = 64 * 1024;
const STATE_BYTES = 48 * MIB;
/**
 * What the pipeline may hold at the default sizes: the blob part being stored or
 * decrypted (3 MiB) and the one produced or fetched ahead of it, a compressed member
 * of 1 MiB, a chunk and a record, each counted as plaintext. Far below STATE_BYTES, so
 * that a stage that gathers the stream fails.
 */
const IN_FLIGHT_BOUND = 10 * MIB;

let root: string;
let blobs: BlobStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'agentstate-archive-'));
  blobs = createFolderBlobStore({ root });
  await blobs.init();
});
afterEach(async () => {
  await blobs.close();
  await rm(root, { recursive: true, force: true });
});

const vault = createVault(
  createEnvFileSecretSource({
    env: { AGENTSTATE_SECRET_AGENTSTATE_VAULT_KEY: randomBytes(32).toString('base64') },
  }),
);

function recordOf(index: number): PersistentRecord {
  const at = new Date(0).toISOString();
  const value = randomBytes((VALUE_BYTES * 3) / 4).toString('base64');
  return {
    type: 'persistent',
    agent: 'a1',
    key: `k${index}`,
    versions: [{ version: 1, value, created_at: at, updated_at: at }],
  };
}
const lineBytes = (record: StateRecord) => Buffer.byteLength(JSON.stringify(record)) + 1;

describe('a backup archive', () => {
  it('holds a bounded amount of the state in flight while it writes and while it reads', async () => {
    const records = Array.from({ length: STATE_BYTES / VALUE_BYTES }, (_, i) => recordOf(i));
    const plaintext = records.reduce((sum, record) => sum + lineBytes(record), 0);

    // Writing: plaintext pulled from the records, and encrypted bytes stored, at each part put.
    let pulled = 0;
    let stored = 0;
    const atPuts: { pulled: number; stored: number }[] = [];
    const writing: BlobStore = {
      ...blobs,
      async put(key, data) {
        atPuts.push({ pulled, stored });
        await blobs.put(key, data);
        if (key.includes('.parts/')) stored += data.byteLength;
      },
    };
    async function* pulledRecords(): AsyncGenerator<StateRecord> {
      for (const record of records) {
        pulled += lineBytes(record);
        yield record;
      }
    }
    const manifest = await createBackupArchive(writing, vault).write({
      backupId: 'bkp-in-flight',
      tenant: 't1',
      scope: 'agent:a1',
      createdAt: new Date(),
      records: pulledRecords(),
    });
    expect(manifest.records).toBe(records.length);
    const ratio = manifest.file_size_bytes / plaintext;
    expect(ratio).toBeGreaterThan(0.7);
    const heldWriting = Math.max(...atPuts.map((at) => at.pulled - at.stored / ratio));
    expect(heldWriting).toBeLessThan(IN_FLIGHT_BOUND);

    // Reading: encrypted bytes fetched, and plaintext handed out as records, at each record.
    let fetched = 0;
    const reading: BlobStore = {
      ...blobs,
      async get(key) {
        const bytes = await blobs.get(key);
        if (key.includes('.parts/')) fetched += bytes?.byteLength ?? 0;
        return bytes;
      },
    };
    let handedOut = 0;
    let heldReading = 0;
    let index = 0;
    for await (const record of createBackupArchive(reading, vault).read(manifest)) {
      expect(record).toEqual(records[index++]);
      handedOut += lineBytes(record);
      heldReading = Math.max(heldReading, fetched / ratio - handedOut);
    }
    expect(index).toBe(records.length);
    expect(heldReading).toBeLessThan(IN_FLIGHT_BOUND);
  });
});
