import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { cpuProfileSchema, summarizeProfile, type ProfileSummary, type SelfTime } from './cpu-profile.ts';
import { fmt } from './results.ts';

const TOP_FUNCTIONS = 30;
const TOP_ORIGINS = 15;

function rows(times: readonly SelfTime[], limit: number): string[][] {
  return times
    .slice(0, limit)
    .map((t) => [t.what.replaceAll('|', '\\|'), t.ms.toFixed(0), `${(t.share * 100).toFixed(1)}%`]);
}

function table(columns: readonly string[], body: readonly (readonly string[])[]): string {
  return [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** A profile's summary as markdown: where the worker's busy time went, by origin and by function. */
export function renderProfileMarkdown(
  summary: ProfileSummary,
  run: {
    readonly command: string;
    readonly startedAt: string;
    readonly profile: string;
    readonly ops?: number;
  },
): string {
  const perOp =
    run.ops === undefined || run.ops === 0
      ? ''
      : ` Over the ${fmt.int(run.ops)} requests measured, that is ${((summary.busyMs / run.ops) * 1000).toFixed(0)} µs of worker CPU per request (start-up, seeding and the warm-up included, so a little high).`;
  return [
    `# CPU profile: ${run.profile}`,
    '',
    '<!-- Written by `npm run bench -- … --cpu-prof` (bench/run.ts). Do not edit by hand: run it again. -->',
    '',
    `Produced by \`${run.command}\` on ${run.startedAt}: \`node --cpu-prof\` on the agentstate worker process for its whole life. ` +
      `The worker was busy ${(summary.busyMs / 1000).toFixed(1)} s of ${(summary.totalMs / 1000).toFixed(1)} s.${perOp} ` +
      'Self time is the time a function was on top of the stack; shares are of the busy time. Open the `.cpuprofile` beside this file in Chrome DevTools or speedscope for the call tree.',
    '',
    '## By origin',
    '',
    table(['origin', 'self ms', 'share'], rows(summary.origins, TOP_ORIGINS)),
    '',
    `## Top ${TOP_FUNCTIONS} functions by self time`,
    '',
    table(['function', 'self ms', 'share'], rows(summary.functions, TOP_FUNCTIONS)),
    '',
  ].join('\n');
}

/**
 * Summarizes each `.cpuprofile` in `dir` written since `since` into a `.md` beside it;
 * answers the paths written.
 */
export async function summarizeProfiles(
  dir: string,
  since: number,
  run: { readonly command: string; readonly startedAt: string; readonly ops?: number },
): Promise<string[]> {
  const written: string[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.cpuprofile')).sort()) {
    const path = join(dir, name);
    if ((await stat(path)).mtimeMs < since) continue;
    const profile = cpuProfileSchema.parse(JSON.parse(await readFile(path, 'utf8')));
    const out = path.replace(/\.cpuprofile$/, '.md');
    const markdown = renderProfileMarkdown(summarizeProfile(profile), { ...run, profile: basename(path) });
    await writeFile(out, await format(markdown, { ...(await resolveConfig(out)), parser: 'markdown' }));
    written.push(out);
  }
  return written;
}
