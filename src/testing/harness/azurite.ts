import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { makeTempDir, removeTempDir, retryOnPortClash, spawnProcess, waitForPort } from './process.ts';

export interface AzuriteServer {
  readonly blobPort: number;
  readonly accountName: 'devstoreaccount1';
  readonly accountKey: string;
  /** `http://127.0.0.1:<port>`: path-style, so the account is the first path segment. */
  readonly blobEndpoint: string;
  logs(): string;
  stop(): Promise<void>;
}

/** Azurite's well-known development account; it is public and only works against Azurite. */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The blob service's entry script from the `azurite` devDependency, or `undefined`. */
export function findAzuriteBlob(): string | undefined {
  try {
    const packageJson = createRequire(import.meta.url).resolve('azurite/package.json');
    const main = join(packageJson, '..', 'dist', 'src', 'blob', 'main.js');
    return existsSync(main) ? main : undefined;
  } catch {
    return undefined;
  }
}

/** Starts Azurite's blob service on a free loopback port with its data in a temp dir. */
export async function startAzurite(): Promise<AzuriteServer> {
  const main = findAzuriteBlob();
  if (main === undefined) throw new Error('azurite is not installed (run npm ci)');
  return retryOnPortClash(async () => {
    const dir = await makeTempDir('azurite');
    const blobPort = await freePort();
    const proc = await spawnProcess({
      name: 'azurite-blob',
      command: process.execPath,
      args: [
        main,
        ...['--blobHost', '127.0.0.1', '--blobPort', String(blobPort), '--location', dir],
        // Telemetry would post to Application Insights; tests talk to loopback only.
        '--disableTelemetry',
        // The Azure SDK inside daprd may send a newer x-ms-version than this Azurite knows.
        '--skipApiVersionCheck',
        '--disableProductStyleUrl',
        '--loose',
        '--silent',
      ],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir },
    });
    try {
      await waitForPort(blobPort, { process: proc, timeoutMs: 30_000 });
    } catch (error) {
      await proc.stop(1_000);
      await removeTempDir(dir);
      throw error;
    }
    return {
      blobPort,
      accountName: AZURITE_ACCOUNT_NAME,
      accountKey: AZURITE_ACCOUNT_KEY,
      blobEndpoint: `http://127.0.0.1:${blobPort}`,
      logs: () => proc.logs(),
      async stop() {
        await proc.stop(5_000);
        await removeTempDir(dir);
      },
    };
  });
}
