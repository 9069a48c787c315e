// A separate process contending for one SQLite file, for sqlite-kv-store.test.ts.
// Opens the store, reports `ready`, waits for `go`, then races to create `race` and
// increments `counter` with CAS; reports whether it created the key.
import { isAppError } from '../../../core/errors.ts';
import { createSqliteKvStore } from '../sqlite-kv-store.ts';

const [path = '', increments = '0'] = process.argv.slice(2);
const send = (message: unknown) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

const store = createSqliteKvStore({ path });
await store.init();
await send('ready');
await new Promise((resolve) => process.once('message', resolve));

let created = false;
try {
  await store.save('race', { pid: process.pid }, { ifAbsent: true });
  created = true;
} catch (error) {
  if (!isAppError(error, 'VersionConflict')) throw error;
}
for (let done = 0; done < Number(increments);) {
  const current = await store.get('counter');
  try {
    await store.save('counter', (current?.value as number) + 1, { etag: current?.etag ?? '' });
    done++;
  } catch (error) {
    if (!isAppError(error, 'VersionConflict')) throw error;
  }
}
await store.close();
await send({ created });
process.disconnect();
