import { approvalApiSuite } from '../../src/testing/api/approval-suite.ts';
import { startEmbeddedTestWorker } from '../../src/testing/api/test-worker.ts';

approvalApiSuite('embedded', (capabilities) => startEmbeddedTestWorker({}, { capabilities }));
