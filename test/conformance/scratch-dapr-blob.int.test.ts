import { createDaprBlobStore } from '../../src/adapters/dapr/blob-store.ts';
import { createSidecarClient } from '../../src/adapters/dapr/sidecar-client.ts';
import { blobStoreConformance } from '../../src/testing/conformance/index.ts';

const sidecar = createSidecarClient({ httpEndpoint: 'http://127.0.0.1:23500', grpcEndpoint: '127.0.0.1:23501' });
for (const bindingName of ['blobs-local', 'blobs-azure', 'blobs-azure-raw']) {
  blobStoreConformance({ name: `scratch ${bindingName}`, create: async () => createDaprBlobStore({ sidecar, bindingName }) });
}
