import { createHash } from 'node:crypto';
import { assertValidNamespaceId, encodeUserKey } from '../state/user-key.ts';

// Where checkpoints live. All of one agent's threads are under `${tenant}/a/${agent}/`:
// - `th/`: the engine namespace of the thread heads (key: the thread id), the commit
//   point of every put and of deleteThread;
// - `to/`: the engine namespace that orders threads newest first;
// - `t/<thread>/<generation>/`: one engine namespace per life of a thread (`generation`
//   is the `since` of the thread head), holding its checkpoints (`c/...`) and pending
//   writes (`w/...`), with the channel values beside them as plain records (`x/...`).
// A deleted thread's next life gets a new generation, so nothing written for an old
// life can ever be read as part of a new one.

export function threadsNamespace(tenant: string, agent: string): string {
  return `${agentPrefix(tenant, agent)}th/`;
}

export function threadOrderNamespace(tenant: string, agent: string): string {
  return `${agentPrefix(tenant, agent)}to/`;
}

export function generationNamespace(
  tenant: string,
  agent: string,
  thread: string,
  generation: number,
): string {
  return `${agentPrefix(tenant, agent)}t/${encodeUserKey(thread)}/${generation}/`;
}

/** Checkpoint keys of a namespace sort newest (greatest id) first, so a page is a forward index read. */
export function checkpointKey(checkpointNs: string, checkpointId: string): string {
  return `${checkpointPrefix(checkpointNs)}${invertId(checkpointId)}~`;
}

export function checkpointPrefix(checkpointNs: string): string {
  return `c/${encodeUserKey(checkpointNs)}/`;
}

/** `checkpointKey` with the namespace and id it was made of. */
export function parseCheckpointKey(key: string): { checkpointNs: string; checkpointId: string } {
  const slash = key.indexOf('/', 2);
  return {
    checkpointNs: decodeURIComponent(key.slice(2, slash)),
    checkpointId: invertId(key.slice(slash + 1, -1)),
  };
}

export function writesKey(checkpointNs: string, checkpointId: string, taskId: string): string {
  return `${writesPrefix(checkpointNs, checkpointId)}${encodeUserKey(taskId)}`;
}

export function writesPrefix(checkpointNs: string, checkpointId: string): string {
  return `w/${encodeUserKey(checkpointNs)}/${checkpointId}/`;
}

/** The plain record of one channel's value at one version, in a generation's namespace. */
export function channelValueKey(
  namespace: string,
  checkpointNs: string,
  channel: string,
  version: string | number,
): string {
  return `${namespace}x/${encodeUserKey(checkpointNs)}/${encodeUserKey(channel)}/${encodeUserKey(String(version))}`;
}

/** Threads list newest first: the key starts with the creation time counted down. */
export function threadOrderKey(createdAt: string, thread: string): string {
  const countdown = String(MAX_TIME_MS - Date.parse(createdAt)).padStart(16, '0');
  return `${countdown}/${thread}`;
}

/** Where an offloaded value's bytes live in the blob store. */
export function blobKey(tenant: string, agent: string, thread: string, blob: string): string {
  return `${blobPrefix(tenant, agent, thread)}${blob}`;
}

/** Where every offloaded value of a thread, of all its lives, lives in the blob store. */
export function blobPrefix(tenant: string, agent: string, thread: string): string {
  const threadHash = createHash('sha256').update(thread).digest('hex').slice(0, 32);
  return `checkpoints/${tenant}/${agent}/${threadHash}/`;
}

/**
 * The key index of an agent's ended generations, oldest end first, that the sweep
 * collects again once writers that raced the end can no longer land there.
 */
export function deadGenerationsNamespace(tenant: string, agent: string): string {
  return `${agentPrefix(tenant, agent)}dg/`;
}

export function deadGenerationKey(endedAt: Date, thread: string, generation: number): string {
  return `${String(endedAt.getTime()).padStart(16, '0')}/${generation}/${encodeUserKey(thread)}`;
}

export function parseDeadGenerationKey(key: string): { endedAt: number; generation: number; thread: string } {
  const [endedAt = '', generation = '', ...thread] = key.split('/');
  return {
    endedAt: Number(endedAt),
    generation: Number(generation),
    thread: decodeURIComponent(thread.join('/')),
  };
}

const MAX_TIME_MS = 8_640_000_000_000_000;

// Ids are `!`..`}` without `/`; mapping each character to its mirror in that range
// reverses their order, and the `~` after the key puts a longer id before its prefix.
function invertId(id: string): string {
  let inverted = '';
  for (const char of id) inverted += String.fromCharCode(0x21 + 0x7d - char.charCodeAt(0));
  return inverted;
}

function agentPrefix(tenant: string, agent: string): string {
  assertValidNamespaceId('tenant', tenant);
  assertValidNamespaceId('agent', agent);
  return `${tenant}/a/${agent}/`;
}
