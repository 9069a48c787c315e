import { readFile } from 'node:fs/promises';
import { AppError } from '../core/errors.ts';

/** The text of a file the user named; one that cannot be read is `InvalidInput` naming it. */
export async function readInputFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AppError('InvalidInput', `cannot read ${path}${code === undefined ? '' : ` (${code})`}`, {
      cause: error,
    });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new AppError('InvalidInput', `${path} is not UTF-8 text`, { cause: error });
  }
}
