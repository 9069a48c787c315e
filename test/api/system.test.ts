import { systemApiSuite } from '../../src/testing/api/system-suite.ts';
import { startEmbeddedTestWorker } from '../../src/testing/api/test-worker.ts';

systemApiSuite('embedded', (env) => startEmbeddedTestWorker(env));
