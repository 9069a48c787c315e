import { describe, expect, it } from 'vitest';
import { loadConfig, resolveStore } from './config.ts';

describe('loadConfig', () => {
  it('runs embedded on loopback port 8080 with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', store: 'auto', dataDir: './.agentstate' });
    expect(resolveStore(config)).toBe('embedded');
  });

  it('picks the Dapr adapters when a sidecar is announced', () => {
    const config = loadConfig({ DAPR_HTTP_PORT: '3500', DAPR_GRPC_PORT: '50001' });
    expect(resolveStore(config)).toBe('dapr');
    expect(config.dapr).toMatchObject({ httpPort: 3500, grpcPort: 50001, stateStore: 'agentstate-state' });
  });

  it('lets flags override the environment, and treats empty variables as unset', () => {
    const config = loadConfig(
      { PORT: '9000', AGENTSTATE_STORE: '', DAPR_HTTP_PORT: '3500' },
      { store: 'embedded' },
    );
    expect(config.port).toBe(9000);
    expect(resolveStore(config)).toBe('embedded');
  });

  it('names the offending variable when a value is invalid', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/port/);
    expect(() => loadConfig({ AGENTSTATE_STORE: 'redis' })).toThrow(/store/);
  });
});
