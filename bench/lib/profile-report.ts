import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import {
  cpuProfileSchema,
  summarizeProfile,
  type ProfileSummary,
  type SelfTime,
  type TimeWindow,
} from './cpu-profile.ts';
import { fmt } from './results.ts';

const TOP_FUNCTIONS = 30;
const TOP_ORIGINS = 15;

/** A measured span of requests, whose samples alone a profile's summary counts. */
export interface MeasuredWindow extends TimeWindow {
  /** Requests answered in the span. */
  readonly ops: number;
}

export interface ProfileRun {
  readonly command: string;
  readonly startedAt: string;
  /** The measured spans; a profile is summarized over those inside it, or whole when there are none. */
  readonly windows: readonly MeasuredWindow[];
}

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

/** What a summary covers, and per request when it covers measured requests. */
function scopeOf(summary: ProfileSummary, windows: readonly MeasuredWindow[]): string {
  const ops = windows.reduce((sum, w) => sum + w.ops, 0);
  const busy = `The worker was busy ${(summary.busyMs / 1000).toFixed(2)} s of ${(summary.totalMs / 1000).toFixed(2)} s`;
  if (ops === 0)
    return `\`node --cpu-prof\` on the agentstate worker process for its whole life (start-up included). ${busy}.`;
  const seconds = windows.reduce((sum, w) => sum + (w.endUs - w.startUs), 0) / 1e6;
  const perRequest = (ms: number) => ((ms / ops) * 1000).toFixed(0);
  return (
    `\`node --cpu-prof\` on the agentstate worker process, counting only the samples taken while the agentstate side was measured ` +
    `(${fmt.int(ops)} requests in ${seconds.toFixed(1)} s; start-up and set-up left out). ${busy}: ` +
    `**${perRequest(summary.busyMs)} µs of worker CPU per request**, and ${perRequest(summary.idleMs)} µs idle (waiting for daprd and the client).`
  );
}

/** A profile's summary as markdown: where the worker's busy time went, by origin and by function. */
export function renderProfileMarkdown(
  summary: ProfileSummary,
  run: ProfileRun & { readonly profile: string },
): string {
  return [
    `# CPU profile: ${run.profile}`,
    '',
    '<!-- Written by `npm run bench -- … --cpu-prof` (bench/run.ts). Do not edit by hand: run it again. -->',
    '',
    `Produced by \`${run.command}\` on ${run.startedAt}: ${scopeOf(summary, run.windows)} ` +
      'Self time is the time a function was on top of the stack; shares are of the busy time. ' +
      'The `.cpuprofile` itself (not committed) opens in Chrome DevTools or speedscope for the call tree.',
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
 * Summarizes each `.cpuprofile` in `dir` written since `since` (ms since the epoch) into
 * a `.md` beside it, over the measured windows inside it; answers the paths written.
 */
export async function summarizeProfiles(dir: string, since: number, run: ProfileRun): Promise<string[]> {
  const written: string[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.cpuprofile')).sort()) {
    const path = join(dir, name);
    if ((await stat(path)).mtimeMs < since) continue;
    const profile = cpuProfileSchema.parse(JSON.parse(await readFile(path, 'utf8')));
    const windows = run.windows.filter((w) => w.startUs >= profile.startTime && w.endUs <= profile.endTime);
    const summary = summarizeProfile(profile, windows.length === 0 ? undefined : windows);
    const out = path.replace(/\.cpuprofile$/, '.md');
    const markdown = renderProfileMarkdown(summary, { ...run, windows, profile: basename(path) });
    await writeFile(out, await format(markdown, { ...(await resolveConfig(out)), parser: 'markdown' }));
    written.push(out);
  }
  return written;
}
