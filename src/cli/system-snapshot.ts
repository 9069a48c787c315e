import { z } from 'zod';
import {
  snapshotListResultSchema,
  snapshotSummarySchema,
  systemSnapshotSchema,
} from '../core/system/system-snapshot.ts';
import type { CliIo } from './cli-io.ts';
import { resolveConnection, type ConnectionFlags } from './connection.ts';
import { fieldTable, jsonLine, listTable } from './output.ts';
import { createServiceClient } from './service-client.ts';

// System snapshots (state.snapshot.*) share the `snapshot` command group with session
// snapshots: `snapshot create` and `snapshot load ID` without an agent and a session
// are the system's (`session.ts` dispatches here).

type Flags = ConnectionFlags & { json?: boolean };

const client = (flags: ConnectionFlags, io: CliIo) => createServiceClient(resolveConnection(flags, io.env));

/** `agentstate snapshot create`: a system snapshot of the caller's tenant. */
export async function createSystemSnapshot(io: CliIo, flags: Flags): Promise<void> {
  const created = await client(flags, io).json(snapshotSummarySchema, 'POST', '/v1/snapshots/system');
  io.out(
    flags.json === true
      ? jsonLine(created)
      : fieldTable([
          ['snapshot_id', created.snapshot_id],
          ['timestamp', created.timestamp],
          ['size_bytes', created.size_bytes],
        ]),
  );
}

/** `agentstate snapshot list`: the tenant's system snapshots, newest first. */
export async function listSystemSnapshots(io: CliIo, flags: Flags): Promise<void> {
  const listed = await client(flags, io).json(snapshotListResultSchema, 'GET', '/v1/snapshots/system');
  io.out(
    flags.json === true
      ? jsonLine(listed)
      : listTable(
          ['snapshot_id', 'timestamp', 'size_bytes'],
          listed.snapshots.map((s) => [s.snapshot_id, s.timestamp, s.size_bytes]),
        ),
  );
}

/** `agentstate snapshot load ID`: the full captured state, as JSON (it is for machines and diffs). */
export async function loadSystemSnapshot(io: CliIo, flags: Flags, id: string): Promise<void> {
  const { snapshot } = await client(flags, io).json(
    z.object({ snapshot: systemSnapshotSchema }),
    'GET',
    `/v1/snapshots/system/${encodeURIComponent(id)}`,
  );
  io.out(flags.json === true ? jsonLine({ snapshot }) : `${JSON.stringify(snapshot, null, 2)}\n`);
}
