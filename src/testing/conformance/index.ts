export { blobStoreConformance } from './blob-store.ts';
export { eventBusConformance } from './event-bus.ts';
export { kvStoreConformance } from './kv-store.ts';
export { CONFORMANCE_SECRETS, secretSourceConformance, type SecretSourceTarget } from './secret-source.ts';
export type { ConformanceTarget } from './target.ts';
