/**
 * A LangGraph store item's (namespace, key) as one agentstate key:
 * `seg/seg/.../:key`, each part percent-encoded with `.` and `~` escaped too, so no part
 * contains `/`, `:` or a `.` segment, namespaces nest as key prefixes, and the mapping
 * is reversible.
 */
export function itemKey(namespace: readonly string[], key: string): string {
  return `${namespacePrefix(namespace)}:${escape(key)}`;
}

/** The key prefix of every item in `namespace` and the namespaces below it. */
export function namespacePrefix(namespace: readonly string[]): string {
  return namespace.map((segment) => `${escape(segment)}/`).join('');
}

/** The namespace and key an `itemKey` was made of, or `undefined` for another key. */
export function parseItemKey(stored: string): { namespace: string[]; key: string } | undefined {
  const at = stored.indexOf(':');
  if (at < 0 || (at > 0 && stored[at - 1] !== '/')) return undefined;
  const path = stored.slice(0, at);
  const namespace = path === '' ? [] : path.slice(0, -1).split('/').map(unescape);
  return { namespace, key: unescape(stored.slice(at + 1)) };
}

function escape(part: string): string {
  return encodeURIComponent(part).replaceAll('~', '%7E').replaceAll('.', '%2E');
}

function unescape(part: string): string {
  return decodeURIComponent(part);
}
