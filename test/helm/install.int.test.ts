import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  crdFiles,
  makeTempDir,
  removeTempDir,
  resolveKubeBinaries,
  startKubeApiServer,
  type KubeApiServer,
  type KubeBinaries,
} from '../../src/testing/harness/index.ts';
import { findHelm } from './find-helm.ts';

// `helm install` of the chart, with its default values and with each combination in
// helm/agentstate/ci/, into a real kube-apiserver (with etcd, both built by
// deploy/kube/build.sh and started on loopback): every object the chart renders must be
// admitted by the server's own schema validation. helm v4 installs by server-side apply
// with strict field validation, so an unknown or misplaced field is rejected, not dropped.

const root = resolve(import.meta.dirname, '../..');
const chartDir = join(root, 'helm/agentstate');
const ciDir = join(chartDir, 'ci');
const combinations = readdirSync(ciDir)
  .filter((name) => name.endsWith('-values.yaml'))
  .sort();

const run = promisify(execFile);

interface Rendered {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

const helm = findHelm();
let kube: KubeBinaries | { reason: string };
try {
  kube = await resolveKubeBinaries();
} catch (error) {
  kube = { reason: (error as Error).message };
}
const missing = 'reason' in helm ? helm.reason : 'reason' in kube ? kube.reason : undefined;

if (missing !== undefined && process.env['CI'] === 'true') {
  describe('helm install into kube-apiserver', () => {
    it('has helm, kube-apiserver and etcd (CI=true: a missing one fails)', () => {
      throw new Error(missing);
    });
  });
} else {
  describe.skipIf(missing !== undefined)(
    `helm install into kube-apiserver${missing === undefined ? '' : ` (skipped: ${missing})`}`,
    () => {
      if ('path' in helm && !('reason' in kube)) installSuite(helm.path, kube);
    },
  );
}

function installSuite(helmPath: string, binaries: KubeBinaries): void {
  let api: KubeApiServer;
  let home: string;
  let env: NodeJS.ProcessEnv;
  /** apiVersion → kind → [resource, namespaced], from the server's discovery. */
  const resources = new Map<string, Map<string, [string, boolean]>>();

  beforeAll(async () => {
    home = await makeTempDir('helm-install');
    api = await startKubeApiServer(binaries);
    await api.installCrds(await crdFiles(binaries.crdDir));
    env = {
      ...process.env,
      KUBECONFIG: api.kubeconfig,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    };
  }, 300_000);

  afterAll(async () => {
    await api?.stop();
    if (home !== undefined) await removeTempDir(home);
  });

  async function helmRun(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(helmPath, args, { env, timeout: 120_000, maxBuffer: 64 << 20 });
      return { ok: true, stdout, stderr };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; message: string };
      return { ok: false, stdout: failed.stdout ?? '', stderr: failed.stderr ?? failed.message };
    }
  }

  async function resourceOf(apiVersion: string, kind: string): Promise<[string, boolean]> {
    let kinds = resources.get(apiVersion);
    if (kinds === undefined) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const answer = await api.request('GET', path);
      expect(answer.status, `discovery of ${apiVersion}`).toBe(200);
      const list = JSON.parse(answer.body) as {
        resources: Array<{ name: string; kind: string; namespaced: boolean }>;
      };
      kinds = new Map(
        list.resources.filter((r) => !r.name.includes('/')).map((r) => [r.kind, [r.name, r.namespaced]]),
      );
      resources.set(apiVersion, kinds);
    }
    const found = kinds.get(kind);
    expect(found, `the server serves ${kind} in ${apiVersion}`).toBeDefined();
    return found!;
  }

  /** Installs the chart into a fresh namespace and checks that the server holds every object it rendered. */
  async function installAndCheck(namespace: string, valuesFile?: string): Promise<void> {
    const values = valuesFile === undefined ? [] : ['--values', valuesFile];
    const installed = await helmRun([
      'install',
      'agentstate',
      chartDir,
      '--namespace',
      namespace,
      '--create-namespace',
      ...values,
    ]);
    expect(installed.stderr, `helm install (${namespace}) was refused`).toBe('');
    expect(installed.ok).toBe(true);

    const manifest = await helmRun(['get', 'manifest', 'agentstate', '--namespace', namespace]);
    expect(manifest.ok, manifest.stderr).toBe(true);
    const objects = parseAllDocuments(manifest.stdout)
      .map((doc) => doc.toJS() as Rendered | null)
      .filter((doc): doc is Rendered => doc !== null);
    expect(objects.length).toBeGreaterThan(10);
    const absent: string[] = [];
    for (const object of objects) {
      const [resource, namespaced] = await resourceOf(object.apiVersion, object.kind);
      const base = object.apiVersion.includes('/')
        ? `/apis/${object.apiVersion}`
        : `/api/${object.apiVersion}`;
      const scope = namespaced ? `/namespaces/${object.metadata.namespace ?? namespace}` : '';
      const got = await api.request('GET', `${base}${scope}/${resource}/${object.metadata.name}`);
      if (got.status !== 200) absent.push(`${object.kind}/${object.metadata.name}: ${got.status}`);
    }
    expect(absent, 'objects helm rendered that the server does not hold').toEqual([]);

    const uninstalled = await helmRun(['uninstall', 'agentstate', '--namespace', namespace]);
    expect(uninstalled.ok, uninstalled.stderr).toBe(true);
  }

  it('installs with the default values, every object admitted', async () => {
    await installAndCheck('defaults');
  });

  for (const file of combinations) {
    const name = file.replace(/-values\.yaml$/, '');
    it(`installs ci/${file} (${name}), every object admitted`, async () => {
      await installAndCheck(name, join(ciDir, file));
    });
  }

  it('rejects an object with an unknown field: the validation is strict and server-side', async () => {
    const dir = await makeTempDir('bad-chart');
    try {
      const chart = join(dir, 'bad');
      await writeChart(chart);
      const installed = await helmRun(['install', 'bad', chart, '--namespace', 'bad', '--create-namespace']);
      expect(installed.ok).toBe(false);
      expect(installed.stderr).toMatch(/\.spec\.replicass: field not declared in schema/);
    } finally {
      await removeTempDir(dir);
    }
  });
}

/** A chart whose one Deployment misspells `replicas`: helm's own checks do not catch it, only the server. */
async function writeChart(dir: string): Promise<void> {
  await mkdir(join(dir, 'templates'), { recursive: true });
  await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: bad\nversion: 0.1.0\n');
  await writeFile(
    join(dir, 'templates', 'deployment.yaml'),
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: bad }',
      'spec:',
      '  replicass: 1',
      '  selector: { matchLabels: { app: bad } }',
      '  template:',
      '    metadata: { labels: { app: bad } }',
      '    spec: { containers: [{ name: bad, image: bad:1 }] }',
      '',
    ].join('\n'),
  );
}
