import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. The kernel picks it by binding
 * port 0; another process may still take it before the caller binds, so servers the
 * harness starts retry on a port clash (see `retryOnPortClash`).
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string')
    throw new Error('could not read the port of a loopback socket');
  return address.port;
}

/** `count` distinct free loopback ports, none of them one of `besides`. */
export async function freePorts(count: number, besides: readonly number[] = []): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = await freePort();
    if (!besides.includes(port)) ports.add(port);
  }
  return [...ports];
}
