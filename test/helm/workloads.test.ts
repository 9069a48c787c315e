import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chartDir, createChartRenderer, describeWithHelm, one, only, type K8sDoc } from './chart-renderer.ts';

// What the chart runs and how it is reached: the workloads' security contexts, the
// backup and verify CronJobs, autoscaling, disruption budget, network policy, the Dapr
// Configuration, RBAC and the Prometheus objects; every combination in
// helm/agentstate/ci/ linted and rendered; and the render failing loudly on a broken
// template, a missing required value or a typo in the values.

const combinations = readdirSync(join(chartDir, 'ci'))
  .filter((name) => name.endsWith('-values.yaml'))
  .sort();

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
}

interface PodSpec {
  restartPolicy?: string;
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  containers: Container[];
  initContainers?: Container[];
}

interface PodTemplate {
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: PodSpec;
}

/** The pod templates of every workload, named for messages. */
function podTemplates(docs: K8sDoc[]): Array<[string, PodTemplate]> {
  const found: Array<[string, PodTemplate]> = [];
  for (const doc of docs) {
    const name = `${doc.kind}/${doc.metadata.name}`;
    if (['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(doc.kind)) {
      found.push([name, doc.spec['template'] as PodTemplate]);
    } else if (doc.kind === 'CronJob') {
      const job = doc.spec['jobTemplate'] as { spec: { template: PodTemplate } };
      found.push([name, job.spec.template]);
    }
  }
  return found;
}

function cronJob(docs: K8sDoc[], name: string) {
  const doc = one(docs, 'CronJob', name);
  const jobSpec = (doc.spec['jobTemplate'] as { spec: Record<string, unknown> & { template: PodTemplate } })
    .spec;
  const container = jobSpec.template.spec.containers[0]!;
  return { doc, spec: doc.spec, jobSpec, pod: jobSpec.template, container };
}

describeWithHelm('helm chart workloads', (helmPath) => {
  const { run, valuesArgs, template, render } = createChartRenderer(helmPath);

  it('carries the package version as appVersion and default image tag', () => {
    const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    const pkg = JSON.parse(readFileSync(join(chartDir, '../../package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
    const deployment = one(render(), 'Deployment').spec['template'] as PodTemplate;
    expect(deployment.spec.containers[0]?.image).toBe(`ghcr.io/agentstate/agentstate:${pkg.version}`);
  });

  describe('every combination in ci/', () => {
    for (const file of combinations) {
      it(`${file} passes helm lint --strict and renders`, () => {
        const values = join(chartDir, 'ci', file);
        const lint = run(['lint', chartDir, '--strict', '--values', values]);
        expect(lint.stdout + lint.stderr).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
        const rendered = run(['template', 'agentstate', chartDir, '--values', values]);
        expect(rendered.stderr).toBe('');
        expect(rendered.status).toBe(0);
      });
    }

    it('covers redis and postgresql × localstorage, azure and s3 × hpa on and off', () => {
      const expected = ['redis', 'postgresql'].flatMap((store) =>
        ['localstorage', 'azure', 's3'].flatMap((blob) =>
          ['hpa', 'fixed'].map((hpa) => `${store}-${blob}-${hpa}-values.yaml`),
        ),
      );
      expect(combinations).toEqual(expected.sort());
    });
  });

  describe('rendered with default values', () => {
    let docs: K8sDoc[] = [];
    beforeAll(() => {
      docs = render();
    });

    it('runs no container as root, writable, privileged or with capabilities', () => {
      const templates = podTemplates(docs);
      expect(templates.map(([name]) => name).sort()).toEqual([
        'CronJob/agentstate-backup',
        'CronJob/agentstate-verify',
        'Deployment/agentstate',
      ]);
      for (const [name, pod] of templates) {
        expect(pod.spec.securityContext, name).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(pod.spec.securityContext?.runAsUser, name).not.toBe(0);
        for (const container of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
          const where = `${name} ${container.name}`;
          expect(container.securityContext, where).toMatchObject({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          });
          expect(container.securityContext?.runAsUser, where).toBeGreaterThan(0);
          expect(container.securityContext?.capabilities?.add, where).toBeUndefined();
        }
      }
    });

    it('gives no workload a secret-looking variable with a literal value', () => {
      for (const [name, pod] of podTemplates(docs)) {
        for (const container of pod.spec.containers) {
          for (const variable of container.env ?? []) {
            if (/(TOKEN|PASSWORD|_KEY|CONNECTION_STRING)$/.test(variable.name)) {
              expect(variable, `${name} ${container.name} ${variable.name}`).not.toHaveProperty('value');
              expect(variable.valueFrom?.secretKeyRef, `${name} ${variable.name}`).toBeDefined();
            }
          }
        }
      }
    });

    it('probes every container of the Deployment', () => {
      const [, pod] = podTemplates(docs).find(([name]) => name.startsWith('Deployment/'))!;
      for (const container of pod.spec.containers) {
        expect(container.livenessProbe, container.name).toBeDefined();
        expect(container.readinessProbe, container.name).toBeDefined();
      }
    });

    it('runs `backup create --wait` on a schedule, one at a time, with its own sidecar and operator token', () => {
      const { spec, jobSpec, pod, container } = cronJob(docs, 'agentstate-backup');
      expect(container.args?.slice(0, 3)).toEqual(['backup', 'create', '--wait']);
      expect(container.args).toEqual(expect.arrayContaining(['--dapr-app-id', 'agentstate']));
      expect(container.args?.[container.args.indexOf('--dapr-app-id') + 1]).toBe('agentstate');
      expect(spec).toMatchObject({
        schedule: '0 2 * * *',
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
      });
      expect(jobSpec).toMatchObject({ backoffLimit: 1, ttlSecondsAfterFinished: 604800 });
      expect(jobSpec['activeDeadlineSeconds']).toBeGreaterThan(0);
      expect(pod.spec.restartPolicy).toBe('Never');
      expect(pod.metadata.annotations).toMatchObject({
        'dapr.io/enabled': 'true',
        'dapr.io/app-id': 'agentstate-backup',
        'dapr.io/config': 'agentstate',
        'dapr.io/sidecar-listen-addresses': '127.0.0.1',
      });
      const token = container.env?.find((e) => e.name === 'AGENTSTATE_TOKEN');
      expect(token?.valueFrom?.secretKeyRef).toEqual({ name: 'agentstate-operator-token', key: 'token' });
      expect(token).not.toHaveProperty('value');
    });

    it('verifies the newest backup on its own schedule', () => {
      const { spec, pod, container } = cronJob(docs, 'agentstate-verify');
      expect(container.args?.slice(0, 3)).toEqual(['backup', 'verify', '--latest']);
      expect(spec['concurrencyPolicy']).toBe('Forbid');
      expect(pod.spec.restartPolicy).toBe('Never');
      expect(pod.metadata.annotations?.['dapr.io/app-id']).toBe('agentstate-verify');
    });

    it('admits to the worker only Dapr invocation and metrics', () => {
      const policy = one(docs, 'NetworkPolicy');
      const ingress = policy.spec['ingress'] as Array<{ ports: Array<{ port: number | string }> }>;
      const ports = ingress.flatMap((rule) => rule.ports.map((p) => p.port));
      expect(ports.sort()).toEqual([50002, 9090, 'http'].sort());
      expect(policy.spec['policyTypes']).toEqual(['Ingress']);
    });

    it('lets only the backup and verify app ids invoke the worker, and only their routes', () => {
      const configuration = one(docs, 'Configuration');
      const access = configuration.spec['accessControl'] as {
        defaultAction: string;
        policies: Array<{ appId: string; defaultAction: string; operations: Array<{ name: string }> }>;
      };
      expect(access.defaultAction).toBe('deny');
      expect(access.policies.map((p) => p.appId)).toEqual(['agentstate-backup', 'agentstate-verify']);
      for (const policy of access.policies) {
        expect(policy.defaultAction).toBe('deny');
        expect(policy.operations.map((o) => o.name)).not.toContain('/**');
      }
      const deployment = one(docs, 'Deployment');
      const annotations = (deployment.spec['template'] as PodTemplate).metadata.annotations;
      expect(annotations?.['dapr.io/config']).toBe(configuration.metadata.name);
    });

    it('gives the secret store get on the named Secrets only', () => {
      const role = one(docs, 'Role');
      expect(role.spec).toBeUndefined();
      const rules = (role as unknown as { rules: Array<Record<string, string[]>> }).rules;
      expect(rules).toEqual([
        { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['agentstate-token-key'] },
      ]);
      const binding = one(docs, 'RoleBinding') as unknown as { subjects: Array<{ name: string }> };
      expect(binding.subjects[0]?.name).toBe('agentstate');
      // The jobs run as their own account, which no Role names.
      expect(cronJob(docs, 'agentstate-backup').pod.spec.serviceAccountName).toBe('agentstate-jobs');
      expect(cronJob(docs, 'agentstate-verify').pod.spec.serviceAccountName).toBe('agentstate-jobs');
      expect(only(docs, 'ServiceAccount').map((d) => d.metadata.name)).toEqual([
        'agentstate',
        'agentstate-jobs',
      ]);
    });

    it('keeps a fixed replica count and a disruption budget, spread over zones and nodes', () => {
      expect(only(docs, 'HorizontalPodAutoscaler')).toEqual([]);
      const deployment = one(docs, 'Deployment');
      expect(deployment.spec['replicas']).toBe(2);
      expect(one(docs, 'PodDisruptionBudget').spec['maxUnavailable']).toBe(1);
      const spread = (
        deployment.spec['template'] as { spec: { topologySpreadConstraints: Array<{ topologyKey: string }> } }
      ).spec.topologySpreadConstraints;
      expect(spread.map((c) => c.topologyKey)).toEqual([
        'topology.kubernetes.io/zone',
        'kubernetes.io/hostname',
      ]);
    });

    it('renders no Prometheus operator object unless asked', () => {
      expect(docs.filter((d) => d.apiVersion.startsWith('monitoring.coreos.com/'))).toEqual([]);
    });
  });

  it('hands the replica count to the HorizontalPodAutoscaler when autoscaling', () => {
    const docs = render({ autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 7 } });
    expect(one(docs, 'Deployment').spec).not.toHaveProperty('replicas');
    expect(one(docs, 'HorizontalPodAutoscaler').spec).toMatchObject({
      minReplicas: 3,
      maxReplicas: 7,
      scaleTargetRef: { kind: 'Deployment', name: 'agentstate' },
    });
  });

  it('alerts when the last backup or verification is older than the schedule allows', () => {
    const docs = render({
      metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } },
      backup: { maxAgeSeconds: 7200 },
    });
    const monitor = one(docs, 'ServiceMonitor');
    expect(monitor.spec['endpoints']).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
    const groups = one(docs, 'PrometheusRule').spec['groups'] as Array<{
      rules: Array<{ alert: string; expr: string }>;
    }>;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(['AgentstateBackupTooOld', 'AgentstateBackupVerifyTooOld']);
    expect(rules[0]?.expr).toMatch(/agentstate_backup_last_success_timestamp_seconds\{[^}]*\}\) > 7200/);
    expect(rules[0]?.expr).toMatch(/absent\(agentstate_backup_last_success_timestamp_seconds/);
    expect(rules[1]?.expr).toMatch(
      /agentstate_backup_verify_last_success_timestamp_seconds\{[^}]*\}\) > 93600/,
    );
  });

  it('puts callerApps in the access control, and no job that is disabled', () => {
    const docs = render({
      callerApps: { 'agent-gateway': { tenant: 'acme', roles: ['agent'] } },
      verify: { enabled: false },
    });
    const access = one(docs, 'Configuration').spec['accessControl'] as { policies: Array<{ appId: string }> };
    expect(access.policies.map((p) => p.appId)).toEqual(['agent-gateway', 'agentstate-backup']);
    expect(only(docs, 'CronJob').map((d) => d.metadata.name)).toEqual(['agentstate-backup']);
  });

  it('reads the S3 credentials from a Secret, or from the pod identity', () => {
    const withSecret = render({
      components: {
        blobStore: {
          type: 'aws.s3',
          s3: { bucket: 'b-1', region: 'eu-west-1', credentialsSecret: { name: 'aws' } },
        },
      },
    });
    const blobs = one(withSecret, 'Component', 'agentstate-blobs');
    const metadata = blobs.spec['metadata'] as Array<{
      name: string;
      value?: string;
      secretKeyRef?: unknown;
    }>;
    expect(blobs.spec['type']).toBe('bindings.aws.s3');
    expect(metadata.find((m) => m.name === 'accessKey')?.secretKeyRef).toEqual({
      name: 'aws',
      key: 'accessKeyId',
    });
    expect(metadata.find((m) => m.name === 'secretKey')?.secretKeyRef).toEqual({
      name: 'aws',
      key: 'secretAccessKey',
    });
    expect(only(withSecret, 'PersistentVolumeClaim')).toEqual([]);
    const withIdentity = render({
      components: { blobStore: { type: 'aws.s3', s3: { bucket: 'b-1', region: 'eu-west-1' } } },
    });
    const names = (
      one(withIdentity, 'Component', 'agentstate-blobs').spec['metadata'] as Array<{ name: string }>
    ).map((m) => m.name);
    expect(names).not.toContain('accessKey');
    expect(names).not.toContain('secretKey');
  });

  describe('fails the render with a clear message', () => {
    const cases: Array<[string, object, RegExp]> = [
      [
        'S3 without a bucket',
        { components: { blobStore: { type: 'aws.s3', s3: { region: 'eu-west-1' } } } },
        /bucket/,
      ],
      [
        'S3 without a region',
        { components: { blobStore: { type: 'aws.s3', s3: { bucket: 'b-1' } } } },
        /region/,
      ],
      ['backups without an operator token', { operatorToken: { secretName: '' } }, /operatorToken/],
      ['a typo in a key', { autoscaling: { enable: true } }, /enable/],
      ['a typo in a nested key', { backup: { schedul: '@daily' } }, /schedul/],
      ['a schedule that is not cron', { backup: { schedule: 'every day' } }, /schedule/],
      ['an unknown alert severity', { metrics: { prometheusRule: { severity: 'page' } } }, /severity/],
      [
        'a network peer with a typo',
        { networkPolicy: { metricsFrom: [{ namespaceSelektor: {} }] } },
        /namespaceSelektor/,
      ],
      ['an existing Configuration without its name', { dapr: { configuration: { create: false } } }, /name/],
    ];
    for (const [what, values, mentions] of cases) {
      it(`on ${what}`, () => {
        const result = template(values);
        expect(result.status).not.toBe(0);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(mentions);
      });
    }

    it('on more autoscaling replicas at minimum than at maximum', () => {
      const result = template({ autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 } });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/minReplicas \(5\) must not exceed autoscaling.maxReplicas \(2\)/);
    });

    describe('on a broken template', () => {
      const copy = mkdtempSync(join(tmpdir(), 'agentstate-chart-'));
      afterAll(() => rmSync(copy, { recursive: true, force: true }));

      it('so that CI fails on it', () => {
        const chart = join(copy, 'agentstate');
        cpSync(chartDir, chart, { recursive: true });
        writeFileSync(
          join(chart, 'templates', 'broken.yaml'),
          'kind: ConfigMap\nname: {{ .Values.nope.missing }\n',
        );
        const result = template(undefined, chart);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/broken\.yaml/);
        const lint = run(['lint', chart, '--strict', ...valuesArgs(undefined)]);
        expect(lint.status).not.toBe(0);
      });
    });
  });
});
