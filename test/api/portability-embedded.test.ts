import { portabilitySuite } from '../../src/testing/api/portability-suite.ts';
import { startEmbeddedTestWorker } from '../../src/testing/api/test-worker.ts';

portabilitySuite('embedded', () => startEmbeddedTestWorker());
