import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Table from 'cli-table3';
import { AppError } from '../core/errors.ts';
import type { CliIo } from './cli-io.ts';

/** Field/value rows as a table for people. */
export function fieldTable(rows: ReadonlyArray<readonly [string, string | number]>): string {
  const table = new Table({ head: ['Field', 'Value'], style: { head: [], border: [] } });
  for (const [field, value] of rows) table.push([field, String(value)]);
  return `${table.toString()}\n`;
}

/** Rows with a heading as a table for people. */
export function listTable(
  head: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
): string {
  const table = new Table({ head: [...head], style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map(String));
  return `${table.toString()}\n`;
}

export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/**
 * Writes `data` to `path` whole or not at all: into a temporary file beside it, renamed
 * over `path` at the end, removed on any failure. A path that cannot be written is
 * `IoError` naming it.
 */
export async function writeFileWhole(path: string, data: ReadableStream<Uint8Array>): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  try {
    await pipeline(Readable.fromWeb(data as never), createWriteStream(temporary, { flags: 'wx' }));
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    if (error instanceof AppError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new AppError('IoError', `cannot write ${path}${code === undefined ? '' : ` (${code})`}`, {
      cause: error,
    });
  }
}

/** Writes `data` to standard output (through `io.out`, so tests capture it). */
export async function writeToOut(io: CliIo, data: ReadableStream<Uint8Array>): Promise<void> {
  const decoder = new TextDecoder();
  await pipeline(
    Readable.fromWeb(data as never),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        io.out(decoder.decode(chunk, { stream: true }));
        callback();
      },
    }),
  );
  io.out(`${decoder.decode()}\n`);
}
