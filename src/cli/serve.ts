import type { Command } from 'commander';
import { loadConfig, type ConfigOverrides } from '../config.ts';
import { createLogger } from '../logging.ts';
import { startWorker } from '../service/worker.ts';

interface ServeFlags {
  port?: string;
  host?: string;
  store?: ConfigOverrides['store'];
  dataDir?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run a worker: the HTTP API on the embedded store, or beside a Dapr sidecar')
    .option('--port <port>', 'port to listen on (env PORT, default 8080)')
    .option('--host <host>', 'address to listen on (env HOST, default 127.0.0.1)')
    .option('--store <store>', 'auto | embedded | dapr (env AGENTSTATE_STORE, default auto)')
    .option('--data-dir <dir>', 'embedded data directory (env AGENTSTATE_DATA_DIR, default ./.agentstate)')
    .action(async (flags: ServeFlags) => {
      const config = loadConfig(process.env, {
        ...(flags.port === undefined ? {} : { port: Number(flags.port) }),
        ...(flags.host === undefined ? {} : { host: flags.host }),
        ...(flags.store === undefined ? {} : { store: flags.store }),
        ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
      });
      const logger = createLogger(config.logLevel);
      const worker = await startWorker(config, logger);
      const stop = (signal: NodeJS.Signals) => {
        logger.info({ signal }, 'shutting down');
        worker.close().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
