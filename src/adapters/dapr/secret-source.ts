import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import type { SecretSource } from '../../ports/secret-source.ts';
import { decodeText, findComponent, type SidecarClient } from './sidecar-client.ts';
import { translateSecretError } from './translate-error.ts';

export interface DaprSecretSourceOptions {
  readonly sidecar: SidecarClient;
  /** The secret store component's name. */
  readonly storeName: string;
}

// `GET /v1.0/secrets/{store}/{name}` answers a map (pkg/api/http/secrets.go): the
// secret's keys and values; single-valued stores (local.file, local.env) answer
// `{ name: value }`, Kubernetes answers every data key of the Secret `name`.
const secretAnswer = z.record(z.string(), z.string());

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * A `SecretSource` on a Dapr secret store. What daprd 1.18 answers, and what it becomes:
 * - a secret that exists: 200 `{ name: value }`;
 * - local.file, no such secret: 500 `ERR_SECRET_GET` "secret x not found" → `SecretNotFound`;
 * - local.env, no such variable: 200 `{ name: "" }` (it reads os.Getenv), so an empty
 *   value is `SecretNotFound` on every store;
 * - a store daprd has not loaded: 401 `ERR_SECRET_STORE_NOT_FOUND` → `Unavailable`;
 * - daprd unreachable, or a store failing otherwise: `Unavailable`.
 * When the answer lacks `name` but holds exactly one entry (a Kubernetes Secret called
 * `name` with one data key), that entry is the value.
 */
export function createDaprSecretSource(options: DaprSecretSourceOptions): SecretSource {
  const { sidecar, storeName } = options;
  let type: string | undefined;
  let closed = false;

  return {
    get name() {
      return type === undefined ? 'dapr-secrets' : `dapr-${type.replace(/^secretstores\./, '')}`;
    },

    async init() {
      let component;
      try {
        component = await findComponent(sidecar, storeName);
      } catch (error) {
        translateSecretError(error, { store: storeName, name: '(init)' });
      }
      if (component === undefined || !component.type.startsWith('secretstores.')) {
        throw new AppError(
          'Unavailable',
          `the Dapr sidecar has no secret store named ${JSON.stringify(storeName)}`,
        );
      }
      type = component.type;
      closed = false;
    },

    async close() {
      closed = true;
    },

    async get(name) {
      if (name === '' || name === '.' || name === '..' || CONTROL_CHARACTERS.test(name)) {
        throw new AppError(
          'InvalidInput',
          `secret name ${JSON.stringify(name.slice(0, 80))} is not a name a store can hold`,
        );
      }
      if (closed) throw new AppError('Unavailable', `secret store ${JSON.stringify(storeName)} is closed`);
      let values: Record<string, string>;
      try {
        const response = await sidecar.request({
          method: 'GET',
          path: `/secrets/${encodeURIComponent(storeName)}/${encodeURIComponent(name)}`,
        });
        values = secretAnswer.parse(JSON.parse(decodeText(response.body)));
      } catch (error) {
        translateSecretError(error, { store: storeName, name });
      }
      const entries = Object.entries(values);
      const value = Object.hasOwn(values, name)
        ? values[name]
        : entries.length === 1
          ? entries[0]?.[1]
          : undefined;
      if (value === undefined || value === '') {
        throw new AppError(
          'SecretNotFound',
          `secret ${JSON.stringify(name)} does not exist in store ${JSON.stringify(storeName)}`,
        );
      }
      return value;
    },
  };
}
