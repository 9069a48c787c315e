import { z } from 'zod';
import { idSchema } from '../core/identity/caller.ts';
import { jsonSchema } from '../core/json.ts';
import { exportedVersionSchema } from '../portability/subject-document.ts';
import { decryptionFailed } from './chunk-cipher.ts';

// What a backup holds before compression: one JSON record per line. Persistent keys
// carry their retained versions in the subject export's shape (oldest first, the last
// current); shared keys their value, version and last writer. The last line counts the
// records before it, so a backup cut at a line boundary is not taken for whole. In a
// platform operator's backup (format 2) every record names its tenant.

const persistentRecordSchema = z.strictObject({
  type: z.literal('persistent'),
  tenant: idSchema.optional(),
  agent: idSchema,
  key: z.string().min(1),
  versions: z.array(exportedVersionSchema).min(1),
});

const sharedRecordSchema = z.strictObject({
  type: z.literal('shared'),
  tenant: idSchema.optional(),
  key: z.string().min(1),
  value: jsonSchema,
  version: z.number().int().min(1),
  owner_agent: idSchema,
  updated_at: z.iso.datetime(),
});

const endRecordSchema = z.strictObject({ type: z.literal('end'), records: z.number().int().nonnegative() });

const backupRecordSchema = z.discriminatedUnion('type', [
  persistentRecordSchema,
  sharedRecordSchema,
  endRecordSchema,
]);

export type PersistentRecord = z.infer<typeof persistentRecordSchema>;
export type SharedRecord = z.infer<typeof sharedRecordSchema>;
export type StateRecord = PersistentRecord | SharedRecord;

/** `records` as lines, closed by the end record; text, which the compression encodes in place. */
export async function* encodeRecords(records: AsyncIterable<StateRecord>): AsyncGenerator<string> {
  let count = 0;
  for await (const record of records) {
    count++;
    yield `${JSON.stringify(record)}\n`;
  }
  yield `${JSON.stringify({ type: 'end', records: count })}\n`;
}

/**
 * The records of decrypted, decompressed `text`, one line in memory at a time. Lines
 * are cut at the newline byte (which UTF-8 never uses inside a character) and decoded one
 * by one: decoding whole members made a string of a megabyte or more per member, which
 * V8 allocates in its old generation and only a full collection frees. The bytes
 * authenticated, so a line that does not decode, or a missing or wrong end record, means
 * a backup written by something else: `DecryptionFailed` all the same.
 */
export async function* decodeRecords(
  backupId: string,
  text: AsyncIterable<Uint8Array>,
): AsyncGenerator<StateRecord> {
  let partial: Buffer[] = [];
  let count = 0;
  let ended = false;
  const take = (bytes: Buffer): StateRecord | undefined => {
    if (ended) throw decryptionFailed(backupId, 'it has records after its end');
    const parsed = backupRecordSchema.safeParse(parseLine(backupId, decodeLine(backupId, bytes)));
    if (!parsed.success)
      throw decryptionFailed(backupId, `record ${count + 1} is not a backup record`, parsed.error);
    if (parsed.data.type === 'end') {
      if (parsed.data.records !== count) throw decryptionFailed(backupId, 'its record count does not match');
      ended = true;
      return undefined;
    }
    count++;
    return parsed.data;
  };
  for await (const chunk of text) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let newline = bytes.indexOf(NEWLINE); newline >= 0; newline = bytes.indexOf(NEWLINE, start)) {
      const end = bytes.subarray(start, newline);
      const line = partial.length === 0 ? end : Buffer.concat([...partial, end]);
      partial = [];
      start = newline + 1;
      const record = take(line);
      if (record !== undefined) yield record;
    }
    if (start < bytes.byteLength) partial.push(bytes.subarray(start));
  }
  if (partial.length > 0 || !ended) throw decryptionFailed(backupId, 'it ends before its end record');
}

const NEWLINE = 0x0a;
/** Whole lines only, so it keeps no state between calls. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeLine(backupId: string, bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw decryptionFailed(backupId, 'a record is not UTF-8', error);
  }
}

function parseLine(backupId: string, line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw decryptionFailed(backupId, 'a record is not JSON', error);
  }
}
