import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { isExecutable } from './process.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
let resolved: Promise<string> | undefined;

/**
 * The daprd to run: `DAPRD_PATH` if set, otherwise the binary `deploy/daprd/build.sh`
 * answers, which builds it (minutes, needs Go) only when the cache lacks it.
 * Memoized per process.
 */
export function resolveDaprdBinary(): Promise<string> {
  resolved ??= locate();
  return resolved;
}

async function locate(): Promise<string> {
  const fromEnv = process.env['DAPRD_PATH'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutable(fromEnv)) throw new Error(`DAPRD_PATH=${fromEnv} is not an executable`);
    return fromEnv;
  }
  // stderr passes through: a first build takes minutes and says so there.
  const build = spawn('bash', ['deploy/daprd/build.sh'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  build.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const [code] = (await once(build, 'close')) as [number | null];
  const path = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !isExecutable(path)) {
    resolved = undefined;
    throw new Error(
      `could not get daprd: deploy/daprd/build.sh exited with ${code} (see its message above); set DAPRD_PATH or install Go`,
    );
  }
  return path;
}
