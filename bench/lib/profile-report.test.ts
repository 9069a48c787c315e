import { describe, expect, it } from 'vitest';
import type { ProfileSummary } from './cpu-profile.ts';
import { renderProfileMarkdown } from './profile-report.ts';

const summary: ProfileSummary = {
  totalMs: 4000,
  idleMs: 1000,
  busyMs: 3000,
  functions: [{ what: 'verify (node_modules/jose/a.js:1)', ms: 1500, share: 0.5 }],
  origins: [{ what: 'jose', ms: 1500, share: 0.5 }],
};
const run = {
  command: 'npm run bench -- --cpu-prof',
  startedAt: '2026-12-01T16:00:00Z',
  profile: 'w.cpuprofile',
};

describe('renderProfileMarkdown', () => {
  it('gives the worker CPU per request over the measured windows', () => {
    const markdown = renderProfileMarkdown(summary, {
      ...run,
      windows: [
        { startUs: 0, endUs: 2e6, ops: 1000 },
        { startUs: 5e6, endUs: 7e6, ops: 500 },
      ],
    });
    expect(markdown).toContain('(1,500 requests in 4.0 s;');
    expect(markdown).toContain('**2000 µs of worker CPU per request**, and 667 µs idle');
    expect(markdown).toContain('| verify (node_modules/jose/a.js:1) | 1500 | 50.0% |');
  });

  it('says it covers the whole process when no measurement falls inside it', () => {
    const markdown = renderProfileMarkdown(summary, { ...run, windows: [] });
    expect(markdown).toContain('for its whole life');
    expect(markdown).not.toContain('per request');
  });
});
