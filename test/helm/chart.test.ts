import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { parsePolicy } from '../../src/core/identity/policy.ts';
import { createChartRenderer, describeWithHelm, one, only, type K8sDoc } from './chart-renderer.ts';

// The Helm chart (helm/agentstate), checked with a real helm built by
// deploy/helm/build.sh: lint and render with the default values and every combination
// in helm/agentstate/ci/, and assertions on the parsed documents. install.int.test.ts
// installs the same combinations into a real kube-apiserver.

const root = resolve(import.meta.dirname, '../..');
const chartDir = join(root, 'helm/agentstate');
const appId = 'agentstate';

describeWithHelm('helm', chartSuite);

interface MetadataEntry {
  name: string;
  value?: unknown;
  secretKeyRef?: { name: string; key: string };
}

interface Container {
  name: string;
  env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  ports: Array<{ name: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  livenessProbe: { httpGet: { path: string; port: string | number } };
  readinessProbe: { httpGet: { path: string; port: string | number } };
  startupProbe?: { httpGet: { path: string; port: string | number } };
  securityContext: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}

interface PodTemplate {
  metadata: { annotations: Record<string, unknown> };
  spec: {
    terminationGracePeriodSeconds: number;
    containers: Container[];
    volumes?: Array<{ name: string; configMap?: { name: string } }>;
  };
}

/** Metadata names whose value is a secret: they must come from a secretKeyRef. */
const secretMetadata = new Set([
  'redisPassword',
  'connectionString',
  'accountKey',
  'accessKey',
  'secretKey',
  'password',
]);

function chartSuite(helmPath: string): void {
  const { run, valuesArgs, template, render } = createChartRenderer(helmPath);

  const component = (docs: K8sDoc[], name: string) => {
    const doc = one(docs, 'Component', name);
    const metadata = (doc.spec['metadata'] ?? []) as MetadataEntry[];
    const meta = (key: string) => metadata.find((entry) => entry.name === key);
    return { doc, type: doc.spec['type'], metadata, meta };
  };
  const podTemplate = (docs: K8sDoc[]) => one(docs, 'Deployment').spec['template'] as PodTemplate;
  const worker = (docs: K8sDoc[]) => {
    const container = podTemplate(docs).spec.containers.find((c) => c.name === 'agentstate');
    expect(container).toBeDefined();
    return container!;
  };
  const envOf = (container: Container) =>
    Object.fromEntries(container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));

  const postgresAzure = {
    components: {
      stateStore: {
        type: 'postgresql',
        postgresql: { connectionStringSecret: { name: 'agentstate-pg', key: 'dsn' } },
      },
      blobStore: {
        type: 'azure.blobstorage',
        azure: {
          accountName: 'agentstateacct',
          containerName: 'backups',
          accountKeySecret: { name: 'agentstate-azure', key: 'accountKey' },
        },
      },
    },
  };

  describe('helm chart', () => {
    it('passes helm lint --strict', () => {
      for (const values of [undefined, postgresAzure]) {
        const result = run(['lint', chartDir, '--strict', ...valuesArgs(values)]);
        expect(result.stdout + result.stderr).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
        expect(result.status).toBe(0);
      }
    });

    for (const [label, values] of [
      ['default values', undefined],
      ['postgresql + azure.blobstorage', postgresAzure],
    ] as const) {
      describe(`rendered with ${label}`, () => {
        let docs: K8sDoc[] = [];
        beforeAll(() => {
          docs = render(values);
        });

        it('has the Deployment with the Dapr annotations', () => {
          const annotations = podTemplate(docs).metadata.annotations;
          expect(annotations).toMatchObject({
            'dapr.io/enabled': 'true',
            'dapr.io/app-id': appId,
            'dapr.io/app-port': '8080',
            'dapr.io/max-body-size': '4Mi',
            'dapr.io/sidecar-listen-addresses': '127.0.0.1',
            'dapr.io/enable-api-logging': 'false',
            'dapr.io/log-level': 'info',
            'dapr.io/app-token-secret': 'agentstate-app-token',
          });
          // Kubernetes takes only string annotation values.
          for (const [key, value] of Object.entries(annotations)) expect(typeof value, key).toBe('string');
          // Deprecated in Dapr 1.18 in favour of max-body-size.
          expect(annotations).not.toHaveProperty('dapr.io/http-max-request-size');
        });

        it('probes /healthz and /readyz on the worker port', () => {
          const container = worker(docs);
          const http = container.ports.find((p) => p.name === 'http');
          expect(http?.containerPort).toBe(8080);
          expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
          expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
          expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
        });

        it('configures the worker for the sidecar and the rendered components', () => {
          const container = worker(docs);
          const env = envOf(container);
          expect(env).toMatchObject({ HOST: '0.0.0.0', PORT: '8080', AGENTSTATE_STORE: 'dapr' });
          for (const variable of [
            'AGENTSTATE_STATE_STORE',
            'AGENTSTATE_PUBSUB',
            'AGENTSTATE_BROADCAST_PUBSUB',
            'AGENTSTATE_BLOB_BINDING',
            'AGENTSTATE_SECRET_STORE',
          ]) {
            const name = env[variable];
            expect(name, variable).toBeTruthy();
            component(docs, name!);
          }
          const token = container.env.find((e) => e.name === 'APP_API_TOKEN');
          expect(token?.valueFrom?.secretKeyRef).toEqual({ name: 'agentstate-app-token', key: 'token' });
        });

        it('runs the worker locked down, with time to drain', () => {
          const container = worker(docs);
          expect(container.securityContext).toMatchObject({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
          });
          expect(container.securityContext.capabilities?.drop).toContain('ALL');
          const drainSeconds = Number(envOf(container)['AGENTSTATE_SHUTDOWN_GRACE_MS']) / 1000;
          expect(drainSeconds).toBe(10);
          const pod = podTemplate(docs);
          expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(drainSeconds);
          const block = String(pod.metadata.annotations['dapr.io/block-shutdown-duration']);
          expect(Number(block.replace(/s$/, ''))).toBeGreaterThanOrEqual(drainSeconds);
        });

        it('scopes every Dapr resource to the app id', () => {
          // A Configuration has no scopes: the sidecars that name it in dapr.io/config load it.
          const dapr = docs.filter((d) => d.apiVersion.startsWith('dapr.io/') && d.kind !== 'Configuration');
          expect(only(dapr, 'Component')).toHaveLength(5);
          expect(only(dapr, 'Resiliency')).toHaveLength(1);
          for (const doc of dapr) expect(doc.scopes, `${doc.kind} ${doc.metadata.name}`).toContain(appId);
        });

        it('keeps state keys unprefixed', () => {
          const state = component(docs, 'agentstate-state');
          expect(state.type).toBe(values === undefined ? 'state.redis' : 'state.postgresql');
          expect(state.meta('keyPrefix')?.value).toBe('none');
        });

        it('gives both pub/sub components readTimeout and a bounded redelivery policy', () => {
          for (const name of ['agentstate-pubsub', 'agentstate-broadcast']) {
            const pubsub = component(docs, name);
            expect(pubsub.type).toBe('pubsub.redis');
            expect(pubsub.meta('readTimeout')?.value).toBe('2s');
          }
          const broadcast = component(docs, 'agentstate-broadcast');
          expect(['{podName}', '{uuid}']).toContain(broadcast.meta('consumerID')?.value);
          expect(Number(broadcast.meta('maxLenApprox')?.value)).toBeGreaterThan(0);
          expect(component(docs, 'agentstate-pubsub').meta('consumerID')).toBeUndefined();

          const resiliency = one(docs, 'Resiliency');
          const spec = resiliency.spec as {
            policies: { retries: Record<string, { maxRetries: number }> };
            targets: { components: Record<string, { inbound: { retry: string } }> };
          };
          for (const name of ['agentstate-pubsub', 'agentstate-broadcast']) {
            const policy = spec.targets.components[name]?.inbound.retry;
            expect(policy, name).toBeDefined();
            expect(spec.policies.retries[policy!]?.maxRetries).toBeGreaterThan(0);
          }
        });

        it('reads every secret from a Kubernetes Secret, never from a value', () => {
          for (const doc of only(docs, 'Component')) {
            for (const entry of (doc.spec['metadata'] ?? []) as MetadataEntry[]) {
              if (entry.secretKeyRef) {
                expect(entry, `${doc.metadata.name}.${entry.name}`).not.toHaveProperty('value');
                expect(doc.auth?.secretStore).toBe('kubernetes');
              }
              if (secretMetadata.has(entry.name)) {
                expect(entry.secretKeyRef, `${doc.metadata.name}.${entry.name}`).toBeDefined();
              }
            }
          }
          expect(component(docs, 'agentstate-secrets').type).toBe('secretstores.kubernetes');
        });

        if (values === undefined) {
          it('shares a ReadWriteMany claim for bindings.localstorage through the sidecar', () => {
            const blobs = component(docs, 'agentstate-blobs');
            expect(blobs.type).toBe('bindings.localstorage');
            const rootPath = String(blobs.meta('rootPath')?.value);
            const pod = podTemplate(docs);
            expect(pod.metadata.annotations['dapr.io/volume-mounts-rw']).toBe(`blobs:${rootPath}`);
            expect(pod.spec.volumes?.map((v) => v.name)).toContain('blobs');
            const claim = one(docs, 'PersistentVolumeClaim');
            expect(claim.spec['accessModes']).toEqual(['ReadWriteMany']);
            expect(component(docs, 'agentstate-state').meta('redisPassword')?.secretKeyRef).toEqual({
              name: 'redis',
              key: 'redis-password',
            });
          });
        } else {
          it('uses PostgreSQL and Azure Blob Storage through their Secrets', () => {
            expect(component(docs, 'agentstate-state').meta('connectionString')?.secretKeyRef).toEqual({
              name: 'agentstate-pg',
              key: 'dsn',
            });
            const blobs = component(docs, 'agentstate-blobs');
            expect(blobs.type).toBe('bindings.azure.blobstorage');
            expect(blobs.meta('accountName')?.value).toBe('agentstateacct');
            expect(blobs.meta('containerName')?.value).toBe('backups');
            expect(blobs.meta('accountKey')?.secretKeyRef).toEqual({
              name: 'agentstate-azure',
              key: 'accountKey',
            });
            expect(only(docs, 'PersistentVolumeClaim')).toHaveLength(0);
            expect(podTemplate(docs).metadata.annotations).not.toHaveProperty('dapr.io/volume-mounts-rw');
          });
        }
      });
    }

    describe('caller apps and limits', () => {
      const callerApps = {
        'agent-gateway': { tenant: 'acme', roles: ['agent'], actForAgents: true },
        reporting: { tenant: 'acme', roles: ['supervisor'] },
      };

      it('mounts the app-id policy from a ConfigMap that the worker parses as given', () => {
        const docs = render({ callerApps });
        const configMap = one(docs, 'ConfigMap', 'agentstate-policy');
        const policyText = (configMap as unknown as { data: Record<string, string> }).data['policy.yaml']!;
        expect(parsePolicy(policyText)).toEqual({
          apps: { ...callerApps, reporting: { ...callerApps.reporting, actForAgents: false } },
        });
        const container = worker(docs);
        const file = envOf(container)['AGENTSTATE_POLICY_FILE']!;
        const mount = container.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
        expect(mount).toMatchObject({ name: 'policy', readOnly: true });
        expect(file.slice(mount!.mountPath.length + 1)).toBe('policy.yaml');
        const volume = podTemplate(docs).spec.volumes?.find((v) => v.name === 'policy');
        expect(volume?.configMap?.name).toBe('agentstate-policy');
        expect(podTemplate(docs).metadata.annotations['checksum/policy']).not.toBe(
          podTemplate(render()).metadata.annotations['checksum/policy'],
        );
      });

      it('admits no Dapr caller by default', () => {
        const docs = render();
        expect(only(docs, 'ConfigMap')).toEqual([]);
        expect(envOf(worker(docs))['AGENTSTATE_POLICY_FILE']).toBeUndefined();
      });

      it('refuses caller apps without the app API token that makes them trustworthy', () => {
        const result = template({ callerApps, appApiToken: { secretName: '' } });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/callerApps needs appApiToken/);
      });

      it('rejects a policy the worker would refuse', () => {
        for (const apps of [
          { gw: { tenant: 'acme', roles: ['agent'], actForAgent: true } },
          { gw: { tenant: 'acme', roles: ['admin'] } },
          { gw: { tenant: 'acme', roles: [] } },
          { 'bad id!': { tenant: 'acme', roles: ['agent'] } },
        ]) {
          const result = template({ callerApps: apps });
          expect(result.status, JSON.stringify(apps)).not.toBe(0);
          expect(result.stderr).toMatch(/schema/i);
        }
      });

      it('names a platform operator only when platformTenant is set, as the worker reads it', () => {
        expect(loadConfig(envOf(worker(render()))).backups.platformTenant).toBeUndefined();
        const env = envOf(worker(render({ platformTenant: 'platform-ops' })));
        expect(loadConfig(env).backups.platformTenant).toBe('platform-ops');
        const result = template({ platformTenant: '_tenants' });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/platformTenant/);
      });

      it('passes the limits to the worker as its configuration reads them', () => {
        const limits = {
          sessionIdleTimeoutSeconds: 600,
          sessionMaxLifetimeSeconds: 7200,
          sessionQuotaBytes: 1048576,
          persistentQuotaBytes: 5368709120,
          persistentRetention: 10,
          sharedQuotaBytes: 0,
          auditRetentionDays: 30,
          snapshotRetention: 5,
          checkpointTtlSeconds: 3600,
          checkpointRetention: 50,
        };
        const env = envOf(worker(render({ limits })));
        const config = loadConfig(env);
        expect(config.limits).toEqual({
          sessionIdleTimeoutSeconds: 600,
          sessionMaxLifetimeSeconds: 7200,
          sessionQuotaBytes: 1048576,
          persistentQuotaBytes: 5368709120,
          persistentRetention: 10,
          sharedQuotaBytes: 0,
          auditRetentionDays: 30,
          snapshotRetention: 5,
          checkpointTtlSeconds: 3600,
          checkpointRetention: 50,
        });
      });
    });

    it('follows dapr.appId in the annotations and every scope', () => {
      const docs = render({ dapr: { appId: 'agents-prod' } });
      expect(podTemplate(docs).metadata.annotations['dapr.io/app-id']).toBe('agents-prod');
      for (const doc of docs.filter(
        (d) => d.apiVersion.startsWith('dapr.io/') && d.kind !== 'Configuration',
      )) {
        expect(doc.scopes).toEqual(['agents-prod']);
      }
    });

    describe('never lets a secret value into a manifest', () => {
      const sentinel = 'sentinel-8d1f0c57-do-not-render';
      // Where someone might try to put a secret value: the schema has no such keys.
      const attempts: Array<[string, object]> = [
        ['a Redis password', { components: { stateStore: { redis: { password: sentinel } } } }],
        ['a pub/sub Redis password', { components: { pubsub: { redis: { password: sentinel } } } }],
        [
          'a PostgreSQL connection string',
          {
            components: {
              stateStore: { type: 'postgresql', postgresql: { connectionString: `password=${sentinel}` } },
            },
          },
        ],
        ['an Azure account key', { components: { blobStore: { azure: { accountKey: sentinel } } } }],
        ['the app API token', { appApiToken: { token: sentinel } }],
        ['a secret name with a value in it', { appApiToken: { secretName: `x ${sentinel}` } }],
      ];
      for (const [what, values] of attempts) {
        it(`refuses ${what} in the values`, () => {
          const result = template(values);
          expect(result.status).not.toBe(0);
          expect(result.stderr).toMatch(/don't meet the specifications of the schema/);
          expect(result.stdout).not.toContain(sentinel);
        });
      }

      it('renders Secret references, not their contents', () => {
        const result = template({
          ...postgresAzure,
          env: [{ name: 'EXTRA', valueFrom: { secretKeyRef: { name: 'extra', key: 'value' } } }],
        });
        expect(result.status).toBe(0);
        expect(result.stdout).not.toContain(sentinel);
        expect(result.stdout).not.toMatch(/^kind: Secret$/m);
      });
    });

    describe('values.schema.json', () => {
      const bad: Array<[string, object, RegExp]> = [
        ['a negative replicaCount', { replicaCount: -1 }, /replicaCount/],
        ['an unknown state store type', { components: { stateStore: { type: 'mongodb' } } }, /type/],
        ['an unknown blob store type', { components: { blobStore: { type: 'gcs' } } }, /type/],
        ['an unknown secret store type', { components: { secretStore: { type: 'vault' } } }, /type/],
        ['an unknown top-level key', { replicas: 3 }, /replicas/],
        ['an app id that is not a DNS label', { dapr: { appId: 'Agent_State' } }, /appId/],
        [
          'a max body size that is not a quantity',
          { dapr: { maxBodySize: 'four megabytes' } },
          /maxBodySize/,
        ],
        [
          'Azure Blob Storage without an account',
          { components: { blobStore: { type: 'azure.blobstorage' } } },
          /accountName/,
        ],
        [
          'an unbounded redelivery',
          { components: { pubsub: { redelivery: { maxRetries: -1 } } } },
          /maxRetries/,
        ],
        [
          'a broadcast consumer group shared by replicas',
          { components: { pubsub: { broadcast: { consumerID: 'agentstate' } } } },
          /consumerID/,
        ],
      ];
      for (const [what, values, mentions] of bad) {
        it(`rejects ${what}`, () => {
          const result = template(values);
          expect(result.status).not.toBe(0);
          expect(result.stderr).toMatch(/schema/i);
          expect(result.stderr).toMatch(mentions);
        });
      }

      it('rejects a termination grace period the drain does not fit in', () => {
        const result = template({ terminationGracePeriodSeconds: 10 });
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/terminationGracePeriodSeconds/);
      });
    });
  });
}
