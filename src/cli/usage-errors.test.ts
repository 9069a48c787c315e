import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// As the README promises, and as a Job needs to tell a typo from a failure.
describe('agentstate with a command line it cannot run', () => {
  const bin = fileURLToPath(new URL('../../bin/agentstate.js', import.meta.url));
  const agentstate = (...args: string[]) =>
    promisify(execFile)(process.execPath, [bin, ...args]).then(
      () => ({ code: 0, stderr: '' }),
      (error: unknown) => error as { code: number; stderr: string },
    );

  it.each([
    ['an unknown command', ['tokens'], /unknown command 'tokens'/],
    ['an unknown option', ['--verbose'], /unknown option '--verbose'/],
  ])('exits 2 for %s', async (_what, args, message) => {
    const { code, stderr } = await agentstate(...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });
});
