import { readdir, readFile, readlink } from 'node:fs/promises';
import { connect } from 'node:net';

// Which TCP sockets this process and its descendants listen on, read from /proc (Linux
// only), so a test can prove that every server it started is bound to loopback.

export interface Listener {
  /** `127.0.0.1`, `0.0.0.0`, `::1`, `::`, ... */
  readonly address: string;
  readonly port: number;
  readonly pid: number;
}

const TCP_LISTEN = '0A';

function ipv4(hex: string): string {
  // /proc prints the address as one little-endian 32-bit word.
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
}

function ipv6(hex: string): string {
  const bytes: string[] = [];
  for (let word = 0; word < 4; word++) {
    const w = hex.slice(word * 8, word * 8 + 8);
    bytes.push(w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2));
  }
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(parseInt(`${bytes[i]}${bytes[i + 1]}`, 16).toString(16));
  const full = groups.join(':');
  if (full === '0:0:0:0:0:0:0:0') return '::';
  if (full === '0:0:0:0:0:0:0:1') return '::1';
  if (full.startsWith('0:0:0:0:0:ffff:')) return `::ffff:${ipv4(hex.slice(24))}`;
  return full;
}

/** Listening sockets by inode, from `/proc/net/tcp` and `/proc/net/tcp6`. */
async function listeningSockets(): Promise<Map<string, { address: string; port: number }>> {
  const sockets = new Map<string, { address: string; port: number }>();
  for (const [file, decode] of [
    ['/proc/net/tcp', ipv4],
    ['/proc/net/tcp6', ipv6],
  ] as const) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (local === undefined || state !== TCP_LISTEN || inode === undefined) continue;
      const [addressHex = '', portHex = ''] = local.split(':');
      sockets.set(inode, { address: decode(addressHex), port: parseInt(portHex, 16) });
    }
  }
  return sockets;
}

/** `root` and every process below it. */
async function descendants(root: number): Promise<Set<number>> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    // The command name may hold spaces and parentheses; the fields after its last ')' do not.
    const ppid = Number(stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found = new Set<number>([root]);
  const queue = [root];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    for (const child of children.get(pid) ?? []) {
      if (found.has(child)) continue;
      found.add(child);
      queue.push(child);
    }
  }
  return found;
}

/** Every TCP socket that `root` (default: this process) or one of its descendants listens on. */
export async function listenersOf(root = process.pid): Promise<Listener[]> {
  const sockets = await listeningSockets();
  const listeners: Listener[] = [];
  for (const pid of await descendants(root)) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const socket = sockets.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
      if (socket !== undefined) listeners.push({ ...socket, pid });
    }
  }
  return listeners;
}

export function isLoopbackAddress(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/** Whether something accepts TCP connections on `host:port` right now. */
export function acceptsConnections(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const settle = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1_000, () => settle(false));
    socket.once('connect', () => settle(true));
    socket.once('error', () => settle(false));
  });
}
