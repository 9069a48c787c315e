import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from '../../src/testing/harness/index.ts';

const suiteDir = join(import.meta.dirname, '..', 'langgraph-validation');

export interface SuiteOutcome {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly total: number;
  /** The failures' names and first lines, for the assertion message. */
  readonly failures: string[];
}

/**
 * Runs LangGraph's checkpointer validation suite (`test/langgraph-validation`, on the
 * vitest major it needs) against AgentStateSaver talking to the worker at `url`, and
 * answers what its JSON report counted.
 */
export async function runValidationSuite(backend: string, url: string, token: string): Promise<SuiteOutcome> {
  const dir = await makeTempDir('langgraph-validation');
  const report = join(dir, 'report.json');
  try {
    await promisify(execFile)(
      process.execPath,
      [
        join(suiteDir, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--reporter=json',
        `--outputFile.json=${report}`,
      ],
      {
        cwd: suiteDir,
        env: {
          ...process.env,
          AGENTSTATE_URL: url,
          AGENTSTATE_TOKEN: token,
          AGENTSTATE_VALIDATION_BACKEND: backend,
        },
        maxBuffer: 64 * 1024 * 1024,
      },
    ).catch((error: unknown) => error); // a failing suite exits 1; the report says why
    const result = JSON.parse(await readFile(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests: number;
      numTotalTests: number;
      testResults: { assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
    };
    return {
      passed: result.numPassedTests,
      failed: result.numFailedTests,
      skipped: result.numPendingTests + result.numTodoTests,
      total: result.numTotalTests,
      failures: result.testResults
        .flatMap((file) => file.assertionResults)
        .filter((test) => test.status === 'failed')
        .map((test) => `${test.fullName}: ${test.failureMessages[0]?.split('\n')[0] ?? ''}`),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
