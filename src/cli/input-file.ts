import { open, readFile, type FileHandle } from 'node:fs/promises';
import { AppError } from '../core/errors.ts';
import { decodeDocument, type DocumentFormat } from '../portability/portable-document.ts';
import { parseJsonStream } from '../portability/json-stream.ts';

/** The text of a file the user named; one that cannot be read is `InvalidInput` naming it. */
export async function readInputFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new AppError('InvalidInput', `${path} is not UTF-8 text`, { cause: error });
  }
}

/**
 * The portable document in a file, verified (`decodeDocument`), parsed as it is read:
 * held once, as its value, never also as its text, whatever its size.
 */
export async function readDocumentFile<T>(format: DocumentFormat<T>, path: string): Promise<T> {
  const value = await withFile(path, (file) =>
    parseJsonStream(file.createReadStream({ autoClose: false }), {
      what: path,
      maxBytes: Number.MAX_SAFE_INTEGER,
    }),
  );
  return decodeDocument(format, value);
}

/** The size and the bytes, read as they are sent, of a file the user named. */
export async function fileStream(
  path: string,
): Promise<{ size: number; bytes: AsyncIterable<Uint8Array>; close(): Promise<void> }> {
  let file: FileHandle;
  try {
    file = await open(path);
  } catch (error) {
    throw unreadable(path, error);
  }
  const { size } = await file.stat();
  return { size, bytes: file.createReadStream({ autoClose: false }), close: () => file.close() };
}

async function withFile<T>(path: string, use: (file: FileHandle) => Promise<T>): Promise<T> {
  let file: FileHandle;
  try {
    file = await open(path);
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

function unreadable(path: string, error: unknown): AppError {
  const code = (error as NodeJS.ErrnoException).code;
  return new AppError('InvalidInput', `cannot read ${path}${code === undefined ? '' : ` (${code})`}`, {
    cause: error,
  });
}
