import { capabilityApiSuite } from '../../src/testing/api/capability-suite.ts';
import { startEmbeddedTestWorker } from '../../src/testing/api/test-worker.ts';

capabilityApiSuite('embedded', startEmbeddedTestWorker);
