import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { freePorts } from './free-port.ts';
import {
  isExecutable,
  logTail,
  makeTempDir,
  removeTempDir,
  retryOnPortClash,
  spawnProcess,
  waitForPort,
  type ManagedProcess,
} from './process.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** What deploy/kube/build.sh provides. */
export interface KubeBinaries {
  readonly kubeApiserver: string;
  readonly etcd: string;
  /** Folder of CustomResourceDefinition files (Dapr's and the Prometheus operator's). */
  readonly crdDir: string;
}

let resolved: Promise<KubeBinaries> | undefined;

/**
 * kube-apiserver, etcd and the CRDs from `deploy/kube/build.sh`, which builds them
 * (minutes, needs Go) only when the cache lacks them and honours KUBE_APISERVER_PATH,
 * ETCD_PATH and KUBE_CRDS_DIR. Memoized per process.
 */
export function resolveKubeBinaries(): Promise<KubeBinaries> {
  resolved ??= locate().catch((error: unknown) => {
    resolved = undefined;
    throw error;
  });
  return resolved;
}

async function locate(): Promise<KubeBinaries> {
  // stderr passes through: a first build takes minutes and says so there.
  const build = spawn('bash', ['deploy/kube/build.sh'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  build.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const [code] = (await once(build, 'close')) as [number | null];
  const [kubeApiserver = '', etcd = '', crdDir = ''] = stdout.trim().split('\n').slice(-3);
  if (code !== 0 || !isExecutable(kubeApiserver) || !isExecutable(etcd) || crdDir === '') {
    throw new Error(
      `could not get kube-apiserver and etcd: deploy/kube/build.sh exited with ${code} (see its message above); ` +
        'install Go or set KUBE_APISERVER_PATH and ETCD_PATH',
    );
  }
  return { kubeApiserver, etcd, crdDir };
}

export interface KubeApiServer {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** A kubeconfig for helm or kubectl: an admin token, trusting the server's own certificate. */
  readonly kubeconfig: string;
  /** A request to the API as the kubeconfig's user; resolves with any status. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  /** Creates the CRDs of `files` and waits until the API serves them. */
  installCrds(files: readonly string[]): Promise<void>;
  /** Output of both servers so far, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts etcd and kube-apiserver on free loopback ports, in a temp dir: no controllers,
 * no scheduler, no nodes, so objects are admitted (schema validation, defaulting,
 * admission) and stored but nothing runs. One static admin token; every request it
 * makes is allowed (AlwaysAllow): the server checks objects, not callers. (AlwaysAllow
 * turns anonymous requests off, hence the token.)
 */
export async function startKubeApiServer(binaries?: KubeBinaries): Promise<KubeApiServer> {
  const { kubeApiserver, etcd } = binaries ?? (await resolveKubeBinaries());
  const dir = await makeTempDir('kube');
  let etcdProc: ManagedProcess | undefined;
  let apiProc: ManagedProcess | undefined;
  const stopAll = async () => {
    await apiProc?.stop(5_000);
    await etcdProc?.stop(5_000);
  };
  try {
    const etcdPort = await retryOnPortClash(async () => {
      const [client, peer] = await freePorts(2);
      const proc = await spawnProcess({
        name: 'etcd',
        command: etcd,
        args: [
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=http://127.0.0.1:${client}`,
          `--advertise-client-urls=http://127.0.0.1:${client}`,
          `--listen-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
          `--initial-cluster=default=http://127.0.0.1:${peer}`,
          '--name=default',
          // Test data: durability is not worth an fsync per write on a shared machine.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
      });
      try {
        await waitForPort(client!, { process: proc, timeoutMs: 30_000 });
      } catch (error) {
        await proc.stop(1_000);
        throw error;
      }
      etcdProc = proc;
      return client!;
    });

    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const certDir = join(dir, 'certs');
    const token = randomBytes(24).toString('hex');
    await writeFile(join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`);

    const port = await retryOnPortClash(async () => {
      const [securePort] = await freePorts(1);
      const proc = await spawnProcess({
        name: 'kube-apiserver',
        command: kubeApiserver,
        args: [
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          // The `kubernetes` Service's endpoints may not point at loopback; nothing here needs them.
          '--endpoint-reconciler-type=none',
          `--secure-port=${securePort}`,
          `--etcd-servers=http://127.0.0.1:${etcdPort}`,
          // A self-signed serving certificate for 127.0.0.1 and localhost, made at start.
          `--cert-dir=${certDir}`,
          '--authorization-mode=AlwaysAllow',
          `--token-auth-file=${join(dir, 'tokens.csv')}`,
          `--service-account-issuer=https://127.0.0.1:${securePort}`,
          `--service-account-key-file=${join(dir, 'sa.pub')}`,
          `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
          '--service-cluster-ip-range=10.96.0.0/16',
          '--allow-privileged=false',
          '--profiling=false',
          '--v=0',
        ],
      });
      try {
        await waitForPort(securePort!, { process: proc, timeoutMs: 60_000 });
      } catch (error) {
        await proc.stop(1_000);
        throw error;
      }
      apiProc = proc;
      return securePort!;
    });

    const url = `https://127.0.0.1:${port}`;
    const ca = await readFile(join(certDir, 'apiserver.crt'), 'utf8');
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    await writeFile(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'test', cluster: { server: url, 'certificate-authority': join(certDir, 'apiserver.crt') } },
        ],
        users: [{ name: 'admin', user: { token } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin' } }],
        'current-context': 'test',
      }),
    );

    const call = (method: string, path: string, body?: unknown) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request(
          `${url}${path}`,
          {
            method,
            ca,
            timeout: 30_000,
            headers: {
              authorization: `Bearer ${token}`,
              ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.on('error', reject);
        req.end(payload);
      });

    await waitUntil('kube-apiserver is ready', apiProc!, 120_000, async () => {
      const ready = await call('GET', '/readyz').catch((error: Error) => ({
        status: 0,
        body: error.message,
      }));
      return ready.status === 200 ? undefined : `readyz ${ready.status}: ${ready.body.slice(-300)}`;
    });

    const proc = apiProc!;
    return {
      url,
      kubeconfig,
      request: call,
      async installCrds(files) {
        const names: string[] = [];
        for (const file of files) {
          for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
            const crd = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
            if (crd?.kind !== 'CustomResourceDefinition' || crd.metadata?.name === undefined) continue;
            const created = await call(
              'POST',
              '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
              crd,
            );
            if (created.status !== 201) {
              throw new Error(
                `creating CRD ${crd.metadata.name} from ${file}: ${created.status} ${created.body}`,
              );
            }
            names.push(crd.metadata.name);
          }
        }
        for (const name of names) {
          await waitUntil(`CRD ${name} is established`, proc, 60_000, async () => {
            const got = await call('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
            const status = (JSON.parse(got.body) as { status?: { conditions?: Condition[] } }).status;
            const established = status?.conditions?.some(
              (c) => c.type === 'Established' && c.status === 'True',
            );
            return established === true ? undefined : 'not established yet';
          });
        }
      },
      logs: () => `${etcdProc?.logs() ?? ''}\n${proc.logs()}`,
      async stop() {
        await stopAll();
        await removeTempDir(dir);
      },
    };
  } catch (error) {
    await stopAll();
    await removeTempDir(dir);
    throw error;
  }
}

interface Condition {
  type: string;
  status: string;
}

/** The CRD files of a folder, in name order. */
export async function crdFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir);
  return entries
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

async function waitUntil(
  what: string,
  proc: ManagedProcess,
  timeoutMs: number,
  attempt: () => Promise<string | undefined>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exit = proc.exitStatus();
    if (exit !== undefined) {
      throw new Error(`${proc.name} exited (code ${exit.code}) before ${what}\n${logTail(proc)}`);
    }
    const problem = await attempt();
    if (problem === undefined) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting until ${what} (last: ${problem})\n${logTail(proc)}`,
      );
    }
    await sleep(200);
  }
}
