import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';

/**
 * Answers JSON text produced piece by piece (a streamed export). A failure after the
 * first piece destroys the response (`error-handler.ts`): the client sees a cut,
 * never a whole-looking document.
 */
export async function sendJsonText(res: Response, text: AsyncIterable<string>): Promise<void> {
  res.type('application/json');
  await pipeline(Readable.from(text), res);
}
