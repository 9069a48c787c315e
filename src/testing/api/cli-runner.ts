import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** What a command line printed and how it exited. */
export interface CliRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** Runs command lines in a shell where `agentstate` is this repository's CLI on Node 24. */
export interface CliShell {
  /** Runs `line` with `sh -c` in the shell's folder, with `env` added to its environment. */
  run(line: string, env?: Record<string, string>): Promise<CliRun>;
  /** The working folder, where relative file names land; removed by `close`. */
  readonly dir: string;
  close(): Promise<void>;
}

/**
 * A shell for CLI end-to-end tests: the command lines run exactly as a user types them,
 * with `agentstate` on the PATH as `npm install -g` would put it, and the Node that runs
 * the tests (the project's Node 24) first on the PATH.
 */
export async function createCliShell(baseEnv: Record<string, string> = {}): Promise<CliShell> {
  const dir = await mkdtemp(join(tmpdir(), 'agentstate-cli-'));
  const bin = join(dir, '.bin');
  await mkdir(bin);
  await symlink(resolve('bin/agentstate.js'), join(bin, 'agentstate'));
  const path = [bin, dirname(process.execPath), process.env['PATH'] ?? ''].join(':');
  return {
    dir,
    run: (line, env = {}) =>
      new Promise((done) => {
        execFile(
          'sh',
          ['-c', line],
          {
            cwd: dir,
            env: { HOME: process.env['HOME'] ?? dir, PATH: path, ...baseEnv, ...env },
            maxBuffer: 256 * 1024 * 1024,
          },
          (error, stdout, stderr) => {
            const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
            done({ stdout, stderr, exitCode });
          },
        );
      }),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
