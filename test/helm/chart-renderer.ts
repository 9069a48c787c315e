import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { findHelm } from './find-helm.ts';

export const chartDir = resolve(import.meta.dirname, '../../helm/agentstate');

/** A rendered Kubernetes object, loosely typed: tests cast the parts they read. */
export interface K8sDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, unknown> };
  spec: Record<string, unknown>;
  scopes?: unknown;
  auth?: { secretStore?: string };
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface ChartRenderer {
  run(args: string[]): HelmResult;
  /** `--values <file>` for `values` written to a temp file, or nothing. */
  valuesArgs(values: object | undefined): string[];
  /** `helm template` of `chart` (default: helm/agentstate) as release `agentstate` in namespace `agentstate`. */
  template(values?: object, chart?: string): HelmResult;
  /** Renders and parses; fails the test if helm does. */
  render(values?: object): K8sDoc[];
}

/** helm with its config, cache and data in a temp dir removed after the suite. */
export function createChartRenderer(helmPath: string): ChartRenderer {
  const home = mkdtempSync(join(tmpdir(), 'agentstate-helm-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  let valuesFiles = 0;
  const renderer: ChartRenderer = {
    run(args) {
      const result = spawnSync(helmPath, args, { encoding: 'utf8', env, timeout: 60_000 });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    valuesArgs(values) {
      if (values === undefined) return [];
      const file = join(home, `values-${valuesFiles++}.yaml`);
      writeFileSync(file, stringify(values));
      return ['--values', file];
    },
    template(values, chart = chartDir) {
      return renderer.run([
        'template',
        'agentstate',
        chart,
        '--namespace',
        'agentstate',
        ...renderer.valuesArgs(values),
      ]);
    },
    render(values) {
      const result = renderer.template(values);
      expect(result.stderr, 'helm template failed').toBe('');
      expect(result.status).toBe(0);
      const parsed: K8sDoc[] = [];
      for (const doc of parseAllDocuments(result.stdout)) {
        expect(doc.errors, 'rendered YAML does not parse').toEqual([]);
        const value: unknown = doc.toJS();
        if (value !== null && value !== undefined) parsed.push(value as K8sDoc);
      }
      return parsed;
    },
  };
  return renderer;
}

/**
 * A `describe` whose suite gets a helm (deploy/helm/build.sh). Without one the suite is
 * skipped and says why; under CI=true it fails instead.
 */
export function describeWithHelm(name: string, suite: (helmPath: string) => void): void {
  const helm = findHelm();
  if ('reason' in helm && process.env['CI'] === 'true') {
    describe(name, () => {
      it('has a helm to test with (CI=true: a missing helm fails)', () => {
        throw new Error(helm.reason);
      });
    });
    return;
  }
  const skip = 'reason' in helm ? helm.reason : undefined;
  describe.skipIf(skip !== undefined)(`${name}${skip === undefined ? '' : ` (skipped: ${skip})`}`, () =>
    suite('path' in helm ? helm.path : ''),
  );
}

export const only = (docs: K8sDoc[], kind: string): K8sDoc[] => docs.filter((d) => d.kind === kind);

export function one(docs: K8sDoc[], kind: string, name?: string): K8sDoc {
  const found = only(docs, kind).filter((d) => name === undefined || d.metadata.name === name);
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0]!;
}
