export const SUMMARY_START = '<!-- bench:summary:start -->';
export const SUMMARY_END = '<!-- bench:summary:end -->';

/**
 * `text` with what lies between the summary markers replaced by `summary`, the markers
 * and everything outside them untouched. Throws when the markers are missing, repeated
 * or out of order, so the harness never writes the summary somewhere else in the README.
 */
export function replaceSummary(text: string, summary: string): string {
  const start = text.indexOf(SUMMARY_START);
  const end = text.indexOf(SUMMARY_END);
  if (start === -1 || end === -1 || end < start)
    throw new Error(`the README needs ${SUMMARY_START} followed by ${SUMMARY_END}`);
  if (text.indexOf(SUMMARY_START, start + 1) !== -1 || text.indexOf(SUMMARY_END, end + 1) !== -1)
    throw new Error('the README has the summary markers more than once');
  return `${text.slice(0, start + SUMMARY_START.length)}\n\n${summary.trim()}\n\n${text.slice(end)}`;
}
