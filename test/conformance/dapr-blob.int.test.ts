import { createDaprBlobStore, createSidecarClient } from '../../src/adapters/dapr/index.ts';
import { blobStoreConformance } from '../../src/testing/conformance/index.ts';
import {
  azureBlobBinding,
  localStorageBinding,
  makeTempDir,
  removeTempDir,
  startAzurite,
  startDaprd,
} from '../../src/testing/harness/index.ts';
import { daprSkipReason, startOnce } from './dapr-fixture.ts';

const sidecar = startOnce(async (onStop) => {
  const [azurite, root] = await Promise.all([startAzurite(), makeTempDir('localstorage')]);
  onStop(azurite.stop);
  onStop(() => removeTempDir(root));
  const daprd = await startDaprd({
    appId: 'agentstate-blobs',
    components: [
      localStorageBinding('blobs-local', root),
      // The binding stores what it is sent (base64 text) or, with decodeBase64, the bytes.
      azureBlobBinding('blobs-azure-text', azurite, 'agentstate-text'),
      azureBlobBinding('blobs-azure-bytes', azurite, 'agentstate-bytes', {
        metadata: { decodeBase64: 'true' },
      }),
    ],
  });
  onStop(daprd.stop);
  return createSidecarClient({ httpEndpoint: daprd.httpEndpoint });
});

for (const [name, bindingName] of [
  ['dapr-localstorage', 'blobs-local'],
  ['dapr-azurite (decodeBase64 false)', 'blobs-azure-text'],
  ['dapr-azurite (decodeBase64 true)', 'blobs-azure-bytes'],
] as const) {
  blobStoreConformance({
    name,
    skip: daprSkipReason,
    create: async () => createDaprBlobStore({ sidecar: await sidecar(), bindingName }),
  });
}
