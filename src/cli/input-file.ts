import { open, type FileHandle } from 'node:fs/promises';
import { AppError } from '../core/errors.ts';
import { decodeDocument, type DocumentFormat } from '../portability/portable-document.ts';
import { parseJsonStream } from '../portability/json-stream.ts';

/** The text of a file the user named; one that cannot be read is `InvalidInput` naming it. */
export async function readInputFile(path: string): Promise<string> {
  const bytes = await withFile(path, (file) => file.readFile());
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
  const file = await openInput(path);
  const { size } = await file.stat();
  return { size, bytes: file.createReadStream({ autoClose: false }), close: () => file.close() };
}

async function withFile<T>(path: string, use: (file: FileHandle) => Promise<T>): Promise<T> {
  const file = await openInput(path);
  try {
    return await use(file);
  } catch (error) {
    // A folder opens, and fails only when read (EISDIR).
    if (!(error instanceof AppError) && typeof (error as NodeJS.ErrnoException).code === 'string')
      throw cannotRead(path, error);
    throw error;
  } finally {
    await file.close();
  }
}

/** The file the user named, open; one that cannot be opened is `InvalidInput` naming it. */
async function openInput(path: string): Promise<FileHandle> {
  try {
    return await open(path);
  } catch (error) {
    throw cannotRead(path, error);
  }
}

function cannotRead(path: string, error: unknown): AppError {
  const code = (error as NodeJS.ErrnoException).code;
  return new AppError('InvalidInput', `cannot read ${path}${code === undefined ? '' : ` (${code})`}`, {
    cause: error,
  });
}
