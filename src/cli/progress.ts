import { SingleBar, Presets } from 'cli-progress';
import type { CliIo } from './cli-io.ts';

/** Progress of a transfer of `total` bytes (or unknown). */
export interface Progress {
  advance(bytes: number): void;
  done(): void;
}

/**
 * A progress bar on a terminal (cli-progress, on stderr), plain lines at every tenth
 * otherwise (a Job's log), so stdout stays the result alone.
 */
export function createProgress(io: CliIo, label: string, total: number | undefined): Progress {
  let seen = 0;
  if (io.interactive && total !== undefined && total > 0) {
    const bar = new SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} bytes`, stream: process.stderr },
      Presets.shades_classic,
    );
    bar.start(total, 0);
    return {
      advance(bytes) {
        seen += bytes;
        bar.update(Math.min(seen, total));
      },
      done: () => bar.stop(),
    };
  }
  let reported = -1;
  return {
    advance(bytes) {
      seen += bytes;
      if (total === undefined || total === 0) return;
      const tenth = Math.floor((seen / total) * 10);
      if (tenth > reported && tenth < 10) {
        reported = tenth;
        io.err(`${label}: ${tenth * 10}% (${seen}/${total} bytes)\n`);
      }
    },
    done: () => io.err(`${label}: done (${seen} bytes)\n`),
  };
}

/** `stream` passed through, counting its bytes into `progress`. */
export function counted(stream: ReadableStream<Uint8Array>, progress: Progress): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        progress.advance(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
}
