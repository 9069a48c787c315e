import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

/** helm's path, or why there is none. A first build takes minutes; later runs reuse it. */
export function findHelm(): { path: string } | { reason: string } {
  const build = spawnSync('bash', [join(root, 'deploy/helm/build.sh')], {
    encoding: 'utf8',
    timeout: 20 * 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const path = build.stdout.trim().split('\n').at(-1);
  if (build.status === 0 && path) return { path };
  const why = (build.stderr || build.error?.message || `exit ${build.status}`).trim().split('\n').at(-1);
  return { reason: `helm is neither cached nor buildable (deploy/helm/build.sh: ${why})` };
}
