/** One Server-Sent Events message: its fields, or the text of a comment line. */
export interface SseMessage {
  event?: string;
  id?: string;
  data?: string;
  comment?: string;
}

export interface SseReader {
  /** Every message received so far, in order; grows as more arrive. */
  readonly messages: SseMessage[];
  /** The `change` events received so far, their `data` parsed. */
  changes(): unknown[];
  /** Resolves when the stream ends (or fails, e.g. when aborted). */
  readonly ended: Promise<void>;
}

/**
 * Reads a `text/event-stream` response body as it arrives, for tests. Handles what
 * agentstate sends: one `data:` line per message, comment lines, `\n` line ends.
 */
export function readSse(res: Response): SseReader {
  if (res.body === null) throw new Error('the response has no body');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const messages: SseMessage[] = [];
  let buffer = '';
  const ended = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        messages.push(parseBlock(buffer.slice(0, end)));
        buffer = buffer.slice(end + 2);
      }
    }
  })().catch(() => undefined);
  return {
    messages,
    changes: () =>
      messages
        .filter((m) => m.event === 'change' && m.data !== undefined)
        .map((m): unknown => JSON.parse(m.data!)),
    ended,
  };
}

function parseBlock(block: string): SseMessage {
  const message: SseMessage = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      message.comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event' || field === 'id' || field === 'data') message[field] = value;
  }
  return message;
}
