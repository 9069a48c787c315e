import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedTestWorker, type TestWorker } from '../../src/testing/api/test-worker.ts';

// The README's curl examples, run as written: every command's JSON answer must contain
// what the `# ⇒` line below it says (objects: the listed fields; arrays: the listed
// elements, in order).

const run = promisify(execFile);
const MARK = '⇒';

interface Example {
  readonly script: string;
  readonly expected: unknown[];
}

async function readmeExamples(): Promise<Example[]> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = /<!-- api-examples:start -->([\s\S]*?)<!-- api-examples:end -->/.exec(readme)?.[1];
  if (section === undefined) throw new Error('README.md has no api-examples section');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map(([, script]) => ({
    script: script!,
    expected: script!
      .split('\n')
      .filter((line) => line.startsWith(`# ${MARK} `))
      .map((line) => JSON.parse(line.slice(`# ${MARK} `.length)) as unknown),
  }));
}

/** Whether `actual` holds everything `expected` says. */
function contains(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return false;
    let from = 0;
    for (const item of expected) {
      const at = actual.findIndex((candidate, i) => i >= from && contains(candidate, item));
      if (at < 0) return false;
      from = at + 1;
    }
    return true;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null) return false;
    return Object.entries(expected).every(([key, value]) =>
      contains((actual as Record<string, unknown>)[key], value),
    );
  }
  return Object.is(actual, expected);
}

let w: TestWorker;
let examples: Example[];
beforeAll(async () => {
  w = await startEmbeddedTestWorker();
  examples = await readmeExamples();
}, 60_000);
afterAll(async () => w?.close());

describe('README API examples', () => {
  it('has examples, each command followed by what it answers', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
    expect(examples.flatMap((example) => example.expected).length).toBeGreaterThanOrEqual(10);
  });

  it('answer what the README says, run in order in one shell', async () => {
    // Each block's answers are separated by a marker line, so they can be told apart.
    const script = [
      'set -euo pipefail',
      ...examples.map((example, i) => `${example.script}\necho; echo "@@ ${i}"`),
    ].join('\n');
    const token = await w.token('dev', 'dev-operator', ['operator']);
    const { stdout } = await run('bash', ['-c', script], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        AGENTSTATE_URL: w.api.url,
        AGENTSTATE_TOKEN: token,
      },
    });
    const blocks = stdout.split(/^@@ \d+$/m).slice(0, examples.length);
    expect(blocks).toHaveLength(examples.length);
    for (const [i, example] of examples.entries()) {
      const answers = blocks[i]!.split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
      expect(answers, `block ${i + 1}:\n${example.script}`).toHaveLength(example.expected.length);
      for (const [j, expected] of example.expected.entries()) {
        expect(
          contains(answers[j], expected),
          `block ${i + 1}, answer ${j + 1}: ${JSON.stringify(answers[j])}`,
        ).toBe(true);
      }
    }
  });
});
