import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

interface Row {
  readonly line: string;
  readonly variables: readonly string[];
  readonly defaults: readonly string[];
}

/** The rows of the table under `### Configuration`: a row's variables and its default cell, split as they pair up. */
function configurationRows(): Row[] {
  const section = readme.split('\n### Configuration\n')[1]?.split('\n#')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [variables = '', defaults = ''] = line.split('|').slice(1, 3);
      return {
        line,
        variables: [...variables.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map(([, name]) => name ?? ''),
        defaults: defaults.trim().split(/ \/ |, /),
      };
    });
}

/** Every variable `loadConfig` reads, found by handing it an environment that records each read. */
function variablesLoadConfigReads(): string[] {
  const read = new Set<string>();
  const env = new Proxy<NodeJS.ProcessEnv>(
    {},
    {
      get(_target, name) {
        if (typeof name === 'string') read.add(name);
        return undefined;
      },
    },
  );
  loadConfig(env);
  return [...read].sort();
}

const units: Record<string, number> = { MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** A default cell's value as the variable would be set, or `undefined` for prose such as `unset`. */
function settingOf(cell: string): string | undefined {
  const literal = /^`([^`]*)`$/.exec(cell)?.[1];
  if (literal !== undefined) return literal;
  const [, amount, unit = ''] = /^(\d+) (MiB|GiB)$/.exec(cell) ?? [];
  return amount === undefined ? undefined : String(Number(amount) * (units[unit] ?? Number.NaN));
}

describe("the README's configuration table", () => {
  const rows = configurationRows();

  it('has a row for every variable the configuration reads, and none for a variable it does not', () => {
    expect(rows.flatMap((row) => row.variables).sort()).toEqual(variablesLoadConfigReads());
  });

  it('gives each variable the default the configuration has: setting the variable to it changes nothing', () => {
    const defaults = loadConfig({});
    for (const row of rows) {
      const shared = row.defaults.length === 1;
      expect(
        shared || row.defaults.length === row.variables.length,
        `defaults pair with variables: ${row.line}`,
      ).toBe(true);
      row.variables.forEach((variable, index) => {
        const setting = settingOf(row.defaults[shared ? 0 : index] ?? '');
        if (setting === undefined) return;
        expect(loadConfig({ [variable]: setting }), `${variable}=${setting}`).toEqual(defaults);
      });
    }
  });
});
