import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import { bindingAnswered, invokeBinding, type BlobBinding } from './blob-binding.ts';
import { folderOfPrefix, keysAfter, keysOfPaths, PROBE_PREFIX } from './blob-listing.ts';
import { decodeText, type SidecarClient } from './sidecar-client.ts';

// What bindings.localstorage does (components-contrib bindings/localstorage/localstorage.go):
// - `create` unquotes the data, then base64-decodes it if it decodes, else writes it as
//   is: so data is always sent as base64, which every byte string survives;
// - `get` answers the file's bytes as the HTTP body; a missing file is a 500 "file not
//   found: <path>", a folder a 500 "...: is a directory";
// - `delete` is os.Remove: a missing file is a 500 "...: no such file or directory";
// - `list` walks the folder named by `fileName` and answers every file below it as an
//   absolute path, unsorted by key and unpaged; a missing folder is a 500 "...: no such
//   file or directory". The root is not in the answer, so `init` learns it from a probe.
//
// `create` is os.Create then one write: not atomic, so a reader racing a `put` of the
// same key can see a truncated file. Large objects are safe regardless: the manifest is
// written last and parts are never rewritten.

const PROBE_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const listAnswer = z.array(z.string()).nullable();

const MISSING_FILE = /file not found|is a directory|not a directory/;
const NOTHING_TO_DELETE = /no such file or directory|not a directory|directory not empty/;
const NOTHING_TO_LIST = /no such file or directory|not a directory/;

/** Learns the binding's root by writing, listing and deleting a probe file; answers the binding. */
export async function openLocalStorageBinding(
  sidecar: SidecarClient,
  bindingName: string,
): Promise<BlobBinding> {
  const invoke = (request: Parameters<typeof invokeBinding>[2]) =>
    invokeBinding(sidecar, bindingName, request);
  const root = await probeRoot(invoke, bindingName);

  return {
    name: 'dapr-localstorage',

    async put(key, data) {
      await invoke({
        operation: 'create',
        // A view: `Buffer.from(data)` would copy a whole part only to encode it.
        data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
        metadata: { fileName: key },
      });
    },

    async get(key) {
      try {
        return (await invoke({ operation: 'get', metadata: { fileName: key } })).body;
      } catch (error) {
        if (bindingAnswered(error, key, MISSING_FILE)) return undefined;
        throw error;
      }
    },

    async delete(key) {
      try {
        await invoke({ operation: 'delete', metadata: { fileName: key } });
        return true;
      } catch (error) {
        if (bindingAnswered(error, key, NOTHING_TO_DELETE)) return false;
        throw error;
      }
    },

    async scan(prefix, after) {
      const folder = folderOfPrefix(prefix);
      let paths: string[];
      try {
        const response = await invoke({ operation: 'list', metadata: { fileName: folder } });
        paths = listAnswer.parse(JSON.parse(decodeText(response.body))) ?? [];
      } catch (error) {
        if (bindingAnswered(error, folder, NOTHING_TO_LIST)) return { keys: [], before: 0 };
        throw error;
      }
      return keysAfter(keysOfPaths(paths, root), prefix, after);
    },
  };
}

async function probeRoot(
  invoke: (request: Parameters<typeof invokeBinding>[2]) => ReturnType<typeof invokeBinding>,
  bindingName: string,
): Promise<string> {
  const probe = `${PROBE_PREFIX}${randomUUID()}`;
  await invoke({
    operation: 'create',
    data: Buffer.from(PROBE_BYTES).toString('base64'),
    metadata: { fileName: probe },
  });
  try {
    const listed =
      listAnswer.parse(
        JSON.parse(
          decodeText(
            (await invoke({ operation: 'list', metadata: { fileName: folderOfPrefix(probe) } })).body,
          ),
        ),
      ) ?? [];
    const suffix = `/${probe}`;
    const path = listed.find((candidate) => candidate.endsWith(suffix));
    if (path === undefined) {
      throw new AppError(
        'IoError',
        `blob binding ${JSON.stringify(bindingName)} did not list the file it had just written`,
      );
    }
    const read = (await invoke({ operation: 'get', metadata: { fileName: probe } })).body;
    if (Buffer.compare(read, PROBE_BYTES) !== 0) {
      throw new AppError(
        'IoError',
        `blob binding ${JSON.stringify(bindingName)} does not store bytes as written`,
      );
    }
    return path.slice(0, -suffix.length);
  } finally {
    await invoke({ operation: 'delete', metadata: { fileName: probe } }).catch(() => undefined);
  }
}
