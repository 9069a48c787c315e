import { createDaprBlobStore, createSidecarClient } from '../../src/adapters/dapr/index.ts';
import {
  azureBlobBinding,
  localStorageBinding,
  makeTempDir,
  removeTempDir,
  startAzurite,
  startDaprd,
} from '../../src/testing/harness/index.ts';
import { snapshotStorageSuite } from '../../src/testing/snapshot-storage-suite.ts';
import { daprSkipReason, startOnce } from './dapr-fixture.ts';

const sidecar = startOnce(async (onStop) => {
  const [azurite, root] = await Promise.all([startAzurite(), makeTempDir('snapshots-localstorage')]);
  onStop(azurite.stop);
  onStop(() => removeTempDir(root));
  const daprd = await startDaprd({
    appId: 'agentstate-snapshots',
    components: [
      localStorageBinding('blobs-local', root),
      azureBlobBinding('blobs-azure', azurite, 'agentstate-snapshots'),
    ],
  });
  onStop(daprd.stop);
  return createSidecarClient({ httpEndpoint: daprd.httpEndpoint });
});

for (const [name, bindingName] of [
  ['daprd + localstorage', 'blobs-local'],
  ['daprd + Azurite', 'blobs-azure'],
] as const) {
  snapshotStorageSuite({
    name,
    skip: daprSkipReason,
    create: async () => createDaprBlobStore({ sidecar: await sidecar(), bindingName }),
  });
}
