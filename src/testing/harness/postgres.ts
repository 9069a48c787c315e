import { execFile } from 'node:child_process';
import { chown, readdir, readFile, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';
import {
  findExecutable,
  isExecutable,
  logTail,
  makeTempDir,
  removeTempDir,
  retryOnPortClash,
  spawnProcess,
  waitForPort,
  type ManagedProcess,
} from './process.ts';

const run = promisify(execFile);

export interface PostgresServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly database: string;
  /** libpq key/value form, as daprd's postgresql state store takes it. */
  readonly connectionString: string;
  /** The postmaster's process id; the backends and workers are its children. */
  readonly pid: number;
  logs(): string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** The database created for the caller. @default 'agentstate' */
  readonly database?: string;
}

const SERVER_TOOLS = ['initdb', 'postgres', 'createdb'];

/**
 * The directory holding initdb, postgres and createdb: beside an initdb on PATH (links
 * followed), else the newest of Debian's versioned dirs.
 */
export async function findPostgresBinDir(): Promise<string | undefined> {
  const onPath = findExecutable('initdb');
  const candidates = onPath === undefined ? [] : [dirname(await realpath(onPath))];
  const root = '/usr/lib/postgresql';
  const versions = await readdir(root).catch(() => [] as string[]);
  const newestFirst = versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  candidates.push(...newestFirst.map((version) => join(root, version, 'bin')));
  return candidates.find((dir) => SERVER_TOOLS.every((tool) => isExecutable(join(dir, tool))));
}

interface RunAs {
  readonly uid?: number;
  readonly gid?: number;
}

/** PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user. */
async function unprivilegedUser(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  const passwd = await readFile('/etc/passwd', 'utf8');
  const fields = passwd
    .split('\n')
    .find((line) => line.startsWith('postgres:'))
    ?.split(':');
  const uid = Number(fields?.[2]);
  const gid = Number(fields?.[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(
      'running as root, PostgreSQL needs a "postgres" user to run as; install the postgresql package or run the tests unprivileged',
    );
  }
  return { uid, gid };
}

/**
 * Starts a throwaway PostgreSQL cluster on a free loopback port with trust auth and
 * without fsync (the data is thrown away), and creates one database in it.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const binDir = await findPostgresBinDir();
  if (binDir === undefined)
    throw new Error('PostgreSQL is not installed (run deploy/test-deps.sh --check-or-install)');
  const database = options.database ?? 'agentstate';
  const user = await unprivilegedUser();
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' };

  return retryOnPortClash(async () => {
    const dir = await makeTempDir('postgres');
    if (user.uid !== undefined && user.gid !== undefined) await chown(dir, user.uid, user.gid);
    const data = join(dir, 'data');
    await run(
      join(binDir, 'initdb'),
      [
        '-D',
        data,
        '-U',
        'postgres',
        '-A',
        'trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      {
        ...user,
        env,
      },
    ).catch((error: unknown) => {
      throw new Error(`initdb failed: ${(error as { stderr?: string }).stderr ?? String(error)}`, {
        cause: error,
      });
    });

    const port = await freePort();
    const proc = await spawnProcess({
      name: 'postgres',
      command: join(binDir, 'postgres'),
      args: [
        '-D',
        data,
        '-k',
        dir,
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ],
      env,
      ...user,
      // SIGINT is "fast" shutdown (SIGTERM waits for clients to leave); SIGQUIT still
      // removes shared memory, which SIGKILL would leak.
      stopSignal: 'SIGINT',
      exitSignal: 'SIGQUIT',
    });
    try {
      await waitForPort(port, { process: proc, timeoutMs: 30_000 });
      await createDatabase(binDir, port, database, proc);
    } catch (error) {
      await proc.stop(2_000);
      await removeTempDir(dir);
      throw error;
    }
    return {
      host: '127.0.0.1',
      port,
      database,
      connectionString: `host=127.0.0.1 port=${port} user=postgres dbname=${database} sslmode=disable`,
      pid: proc.pid,
      logs: () => proc.logs(),
      async stop() {
        await proc.stop();
        await removeTempDir(dir);
      },
    };
  });
}

// The port opens before the server accepts sessions ("the database system is starting up").
async function createDatabase(
  binDir: string,
  port: number,
  database: string,
  proc: ManagedProcess,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await run(
        join(binDir, 'createdb'),
        ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', database],
        {
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
        },
      );
      return;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      if (
        !/starting up|Connection refused/i.test(stderr) ||
        Date.now() > deadline ||
        proc.exitStatus() !== undefined
      ) {
        throw new Error(`createdb ${database} failed: ${stderr}\n${logTail(proc)}`, { cause: error });
      }
      await sleep(50);
    }
  }
}
