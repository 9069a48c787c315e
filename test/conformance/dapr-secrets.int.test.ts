import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDaprSecretSource, createSidecarClient } from '../../src/adapters/dapr/index.ts';
import { CONFORMANCE_SECRETS, secretSourceConformance } from '../../src/testing/conformance/index.ts';
import {
  freePort,
  localEnvSecretStore,
  localFileSecretStore,
  makeTempDir,
  removeTempDir,
  startDaprd,
} from '../../src/testing/harness/index.ts';
import { daprSkipReason, startOnce } from './dapr-fixture.ts';

const sidecar = startOnce(async (onStop) => {
  const dir = await makeTempDir('secrets');
  onStop(() => removeTempDir(dir));
  await writeFile(join(dir, 'secrets.json'), JSON.stringify(CONFORMANCE_SECRETS));
  const daprd = await startDaprd({
    appId: 'agentstate-secrets',
    components: [
      localFileSecretStore('secrets-file', join(dir, 'secrets.json')),
      localEnvSecretStore('secrets-env'),
    ],
    env: CONFORMANCE_SECRETS,
  });
  onStop(daprd.stop);
  return createSidecarClient({ httpEndpoint: daprd.httpEndpoint });
});

secretSourceConformance({
  name: 'dapr local.file (unavailable: no such store)',
  skip: daprSkipReason,
  create: async () => createDaprSecretSource({ sidecar: await sidecar(), storeName: 'secrets-file' }),
  createUnavailable: async () =>
    createDaprSecretSource({ sidecar: await sidecar(), storeName: 'no-such-store' }),
});

secretSourceConformance({
  name: 'dapr local.env (unavailable: no sidecar listening)',
  skip: daprSkipReason,
  create: async () => createDaprSecretSource({ sidecar: await sidecar(), storeName: 'secrets-env' }),
  createUnavailable: async () =>
    createDaprSecretSource({
      sidecar: createSidecarClient({ httpEndpoint: `http://127.0.0.1:${await freePort()}` }),
      storeName: 'secrets-env',
    }),
});
