/** Where a command reads its environment and writes its output; tests pass their own. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  /** Standard output: results. */
  readonly out: (text: string) => void;
  /** Standard error: progress and notices (errors are written by main.ts). */
  readonly err: (text: string) => void;
  /** Whether standard error is a terminal: progress bars there, plain lines otherwise. */
  readonly interactive: boolean;
}

export function processIo(): CliIo {
  return {
    env: process.env,
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    interactive: process.stderr.isTTY,
  };
}
