import { describe, expect, it } from 'vitest';
import { replaceSummary, SUMMARY_END, SUMMARY_START } from './readme-summary.ts';

const readme = (inner: string) =>
  `# Title\n\nBefore.\n\n${SUMMARY_START}\n${inner}\n${SUMMARY_END}\n\nAfter.\n`;

describe('replaceSummary', () => {
  it('replaces only what lies between the markers', () => {
    const updated = replaceSummary(readme('old table'), '| new | table |\n');
    expect(updated).toBe(
      `# Title\n\nBefore.\n\n${SUMMARY_START}\n\n| new | table |\n\n${SUMMARY_END}\n\nAfter.\n`,
    );
  });

  it('gives the same text when run twice with the same summary', () => {
    const once = replaceSummary(readme(''), 'figures');
    expect(replaceSummary(once, 'figures')).toBe(once);
  });

  it('refuses a README without both markers in order, or with them twice', () => {
    expect(() => replaceSummary('# no markers\n', 'x')).toThrow(/needs/);
    expect(() => replaceSummary(`${SUMMARY_END}\n${SUMMARY_START}\n`, 'x')).toThrow(/needs/);
    expect(() => replaceSummary(readme('') + readme(''), 'x')).toThrow(/more than once/);
  });
});
