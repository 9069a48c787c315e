import { Router } from 'express';
import { backupIdSchema } from '../../backups/backup-manifest.ts';
import { backupVerifyInputSchema } from '../../backups/backup-schemas.ts';
import type { Backups } from '../../backups/backups.ts';
import type { CapabilityInvoker } from '../../capabilities/invoke.ts';
import { parseInput } from '../../core/parse-input.ts';
import { bodyOf, callContext } from '../call-context.ts';

/**
 * Encrypted backups (spec/000 `state.backup.*`). The spec's four run their capability
 * through the invoker, so permission classes apply here as on the RPC:
 * - `POST /v1/backups` `{agent?}`: start a backup job; `201` with its id, `Location` its status
 * - `GET  /v1/backups`: complete backups, newest first
 * - `POST /v1/backups/{id}/restore` `{agent?}`: restore
 * - `POST /v1/backups/{id}/export` `{path}`: export to a file on the worker
 * Beyond the spec, read-only and within the caller's tenant:
 * - `GET  /v1/backups/{id}`: the job's status (`running`, `complete`, `failed`)
 * - `POST /v1/backups/{id|latest}/verify` `{sample_percent?}`: check without restoring
 */
export function backupRoutes(invoke: CapabilityInvoker, backups: Backups): Router {
  const router = Router();
  router.post('/v1/backups', async (req, res) => {
    const started = (await invoke('state.backup.create', callContext(req), bodyOf(req))) as {
      backup_id?: string;
    };
    if (started.backup_id !== undefined) res.location(`/v1/backups/${started.backup_id}`);
    res.status(201).json(started);
  });
  router.get('/v1/backups', async (req, res) => {
    res.json(await invoke('state.backup.list', callContext(req), {}));
  });
  router.get('/v1/backups/:id', async (req, res) => {
    res.json(await backups.status(req.caller, parseInput(backupIdSchema, req.params.id, 'backup id')));
  });
  router.post('/v1/backups/:id/restore', async (req, res) => {
    const input = { ...(bodyOf(req) as object), backup_id: req.params.id };
    res.json(await invoke('state.backup.restore', callContext(req), input));
  });
  router.post('/v1/backups/:id/export', async (req, res) => {
    const input = { ...(bodyOf(req) as object), backup_id: req.params.id };
    res.json(await invoke('state.backup.export', callContext(req), input));
  });
  router.post('/v1/backups/:id/verify', async (req, res) => {
    const id = req.params.id === 'latest' ? 'latest' : parseInput(backupIdSchema, req.params.id, 'backup id');
    const { sample_percent } = parseInput(backupVerifyInputSchema, bodyOf(req), 'verify options');
    res.json(await backups.verify(req.caller, id, sample_percent));
  });
  return router;
}
