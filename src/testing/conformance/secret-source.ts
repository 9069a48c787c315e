import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretSource } from '../../ports/secret-source.ts';
import { expectAppError } from './assertions.ts';

/** The secrets every target must serve, so the suite can read them back. */
export const CONFORMANCE_SECRETS = {
  'agentstate-vault-key': 'dGVzdCB2YXVsdCBrZXkgLSBub3QgYSByZWFsIHNlY3JldA==',
  'agentstate-token-key': 'test-token-key with spaces & symbols: ü',
} as const;

export interface SecretSourceTarget {
  readonly name: string;
  readonly skip?: string | undefined;
  /** A source that serves exactly `CONFORMANCE_SECRETS`. */
  create(): Promise<SecretSource>;
  /** A source whose backing store cannot be reached or is not configured. */
  createUnavailable(): Promise<SecretSource>;
  destroy?(): Promise<void>;
  readonly setupTimeoutMs?: number;
}

/** The semantics of `SecretSource` (src/ports/secret-source.ts). */
export function secretSourceConformance(target: SecretSourceTarget): void {
  describe.skipIf(target.skip !== undefined)(
    `SecretSource conformance: ${target.name}${target.skip ? ` (skipped: ${target.skip})` : ''}`,
    () => {
      let secrets: SecretSource;
      let unavailable: SecretSource;

      beforeAll(async () => {
        secrets = await target.create();
        await secrets.init();
        unavailable = await target.createUnavailable();
      }, target.setupTimeoutMs ?? 180_000);

      afterAll(async () => {
        await secrets?.close();
        await unavailable?.close();
        await target.destroy?.();
      }, 60_000);

      it('reads a secret by name', async () => {
        for (const [name, value] of Object.entries(CONFORMANCE_SECRETS)) {
          expect(await secrets.get(name)).toBe(value);
        }
      });

      it('tells a missing secret (SecretNotFound) from an unreachable store (Unavailable)', async () => {
        await expectAppError(secrets.get('no-such-secret'), 'SecretNotFound');
        await expectAppError(
          (async () => {
            await unavailable.init();
            return unavailable.get('agentstate-vault-key');
          })(),
          'Unavailable',
        );
      });
    },
  );
}
