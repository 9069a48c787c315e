import { JSONParser } from '@streamparser/json';
import { AppError } from '../core/errors.ts';

export interface JsonStreamOptions {
  /** Says what is parsed, in messages: `the request body`. */
  readonly what: string;
  /** More bytes than this is `PayloadTooLarge`. */
  readonly maxBytes: number;
}

/**
 * The JSON value of a byte stream, parsed as the bytes arrive, so that a document is
 * held once, as its value, and never also as its text. Bytes that are not UTF-8 and
 * text that is not one JSON value (a truncated file) are `InvalidInput`; more than
 * `maxBytes` is `PayloadTooLarge`, and reading stops there.
 */
export async function parseJsonStream(
  chunks: AsyncIterable<Uint8Array | string>,
  options: JsonStreamOptions,
): Promise<unknown> {
  const { what, maxBytes } = options;
  const parser = new JSONParser({ paths: ['$'] });
  let parsed: { value: unknown } | undefined;
  parser.onValue = ({ value }) => {
    parsed = { value };
  };
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Only what the decoder and the parser refuse is the sender's fault; a failing read
  // (a folder, a dropped connection) goes up as it is.
  const feed = (step: () => void) => {
    try {
      step();
    } catch (error) {
      const reason =
        error instanceof TypeError ? 'is not UTF-8' : 'is not valid JSON (truncated or damaged?)';
      throw new AppError('InvalidInput', `${what} ${reason}`, { cause: error });
    }
  };
  let bytes = 0;
  for await (const chunk of chunks) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    bytes += data.byteLength;
    if (bytes > maxBytes)
      throw new AppError('PayloadTooLarge', `${what} is over ${maxBytes} bytes`, {
        details: { max_bytes: maxBytes },
      });
    feed(() => parser.write(decoder.decode(data, { stream: true })));
  }
  feed(() => {
    const rest = decoder.decode();
    if (rest !== '') parser.write(rest);
    // The parser ends by itself once the value is complete.
    if (!parser.isEnded) parser.end();
  });
  if (parsed === undefined) throw new AppError('InvalidInput', `${what} is empty or not one JSON value`);
  return parsed.value;
}
