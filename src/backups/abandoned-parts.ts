import type { BlobStore } from '../ports/blob-store.ts';

/** Where every backup keeps its data: `backups/<backup_id>/…`. */
export const BACKUP_DATA_PREFIX = 'backups/';

/**
 * Deletes the data of backups that will never complete: every `backups/<id>/` whose id
 * `isKept` rejects (no manifest, and no live job writing it: a worker killed mid-backup
 * leaves exactly that). Answers the ids whose data it deleted. Two passes, so that the
 * listing is not paged across the deletes it causes.
 */
export async function collectAbandonedData(
  blobs: BlobStore,
  isKept: (backupId: string) => Promise<boolean>,
): Promise<string[]> {
  const ids = new Set<string>();
  for (let cursor: string | undefined; ;) {
    const page = await blobs.list(BACKUP_DATA_PREFIX, cursor === undefined ? {} : { cursor });
    for (const key of page.keys) {
      const id = key.slice(BACKUP_DATA_PREFIX.length).split('/')[0];
      if (id !== undefined && id !== '') ids.add(id);
    }
    if (page.cursor === undefined) break;
    cursor = page.cursor;
  }
  const abandoned: string[] = [];
  for (const id of ids) {
    if (await isKept(id)) continue;
    await deleteUnder(blobs, `${BACKUP_DATA_PREFIX}${id}/`);
    abandoned.push(id);
  }
  return abandoned;
}

/** Deletes every object under `prefix`, listing again from the start until none is left. */
async function deleteUnder(blobs: BlobStore, prefix: string): Promise<void> {
  for (;;) {
    const { keys } = await blobs.list(prefix);
    let deleted = 0;
    for (const key of keys) if (await blobs.delete(key)) deleted++;
    // Gone already (another worker's sweep): nothing left to do here.
    if (deleted === 0) return;
  }
}
