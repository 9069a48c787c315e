// Reads vitest's JSON report and fails the build when it shows no tests, any failure,
// or (under CI=true) an integration test that did not run: a skipped integration
// suite would otherwise pass the build without having tested anything against daprd.
//
// Usage: node deploy/ci/check-report.mjs [.vitest-report.json]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const reportPath = process.argv[2] ?? '.vitest-report.json';
const ci = process.env.CI === 'true';

let report;
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch (error) {
  console.error(`check-report: cannot read ${reportPath}: ${error.message}`);
  process.exit(1);
}

const problems = [];
const rows = [];
let total = 0;

for (const file of report.testResults ?? []) {
  const name = relative(process.cwd(), file.name);
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const test of file.assertionResults ?? []) {
    if (test.status === 'passed') counts.passed++;
    else if (test.status === 'failed') counts.failed++;
    else counts.skipped++; // every status that is neither passed nor failed
  }
  total += counts.passed + counts.failed + counts.skipped;
  rows.push({ name, status: file.status, ...counts });

  if (file.status === 'failed' && counts.failed === 0) {
    // A file can fail outside any test: an import error or a failing beforeAll.
    const reason = file.message ? file.message.split('\n')[0] : 'see the vitest output above';
    problems.push(`${name}: failed outside its tests, at import or in a hook (${reason})`);
  }
  if (counts.failed > 0) problems.push(`${name}: ${counts.failed} failed`);
  if (ci && name.endsWith('.int.test.ts') && counts.skipped > 0) {
    const skipped = (file.assertionResults ?? []).filter(
      (t) => t.status !== 'passed' && t.status !== 'failed',
    );
    const titles = [...new Set(skipped.map((t) => t.ancestorTitles?.[0] ?? t.title))].slice(0, 3);
    problems.push(
      `${name}: ${counts.skipped} integration tests did not run under CI (${titles.join(' | ')})`,
    );
  }
}

const width = Math.max(4, ...rows.map((r) => r.name.length));
console.log(`${'file'.padEnd(width)}  passed  failed  skipped`);
for (const r of rows.sort((a, b) => a.name.localeCompare(b.name))) {
  console.log(
    `${r.name.padEnd(width)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.skipped).padStart(7)}`,
  );
}
const sum = (key) => rows.reduce((n, r) => n + r[key], 0);
console.log(
  `${'total'.padEnd(width)}  ${String(sum('passed')).padStart(6)}  ${String(sum('failed')).padStart(6)}  ${String(sum('skipped')).padStart(7)}`,
);

if (total === 0) problems.push('the report holds no tests at all');
if (ci && !rows.some((r) => r.name.endsWith('.int.test.ts') && r.passed > 0))
  problems.push('no daprd-backed integration test passed');
if (report.success === false && problems.length === 0)
  problems.push('vitest reported the run as unsuccessful');

if (problems.length > 0) {
  console.error('\ncheck-report: FAILED');
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
const skippedNote = sum('skipped') > 0 ? `, ${sum('skipped')} skipped` : '';
console.log(
  `\ncheck-report: ${total} tests, ${sum('passed')} passed${skippedNote}, none failed${ci ? '; every integration test ran' : ''}`,
);
