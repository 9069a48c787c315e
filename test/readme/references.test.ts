import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

// A reader of the repository has only the repository: what the README cites must be in it.
describe('the README and the license', () => {
  it('cite only documents that are in the repository', () => {
    const cited = [...read('README.md').matchAll(/[\w./-]+\.md\b/g)].map(([path]) => path);
    expect(cited.filter((path) => !existsSync(new URL(path, root)))).toEqual([]);
  });

  it('ship the full Apache-2.0 text that package.json names', () => {
    expect((JSON.parse(read('package.json')) as { license: string }).license).toBe('Apache-2.0');
    const license = read('LICENSE');
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    for (let section = 1; section <= 9; section++)
      expect(license).toMatch(new RegExp(`\\n\\s*${section}\\. [A-Z]`));
    expect(license).toContain('END OF TERMS AND CONDITIONS');
  });
});
