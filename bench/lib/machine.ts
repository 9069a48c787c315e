import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem, release, type } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { findPostgresBinDir, findRedisServer, resolveDaprdBinary } from '../../src/testing/harness/index.ts';

const run = promisify(execFile);

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly versions: Record<string, string>;
  readonly commit: string;
  /** 1, 5 and 15-minute load averages when the run started: other work on the cores. */
  readonly loadAverage: readonly number[];
}

async function firstLine(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, args, { timeout: 10_000 });
    return (stdout.trim() || stderr.trim()).split('\n')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The machine and the versions of everything a run measured, for the report's header. */
export async function describeMachine(repoRoot: string, withDaprd: boolean): Promise<MachineInfo> {
  const loadAverage = loadavg();
  const versions: Record<string, string> = { node: process.version };
  versions['daprd'] = withDaprd
    ? await resolveDaprdBinary().then(
        (path) => firstLine(path, ['--version']),
        () => 'not found',
      )
    : 'not used';
  const redis = findRedisServer();
  versions['redis'] =
    redis === undefined
      ? 'not found'
      : (/v=(\S+)/.exec(await firstLine(redis, ['--version']))?.[1] ?? 'unknown');
  const pgDir = await findPostgresBinDir();
  versions['postgresql'] =
    pgDir === undefined
      ? 'not found'
      : (await firstLine(join(pgDir, 'postgres'), ['--version'])).replace(/^postgres \(PostgreSQL\) /, '');
  const sqlitePackage = JSON.parse(
    await readFile(join(repoRoot, 'node_modules/better-sqlite3/package.json'), 'utf8'),
  ) as { version: string };
  const db = new Database(':memory:');
  versions['better-sqlite3'] =
    `${sqlitePackage.version} (SQLite ${(db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v})`;
  db.close();
  const head = await firstLine('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']);
  const dirty = (
    await run('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no']).catch(() => ({
      stdout: '',
    }))
  ).stdout.trim();
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    versions,
    commit: dirty === '' ? head : `${head} with uncommitted changes`,
    loadAverage,
  };
}
