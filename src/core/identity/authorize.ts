import { AppError } from '../errors.ts';
import { hasRole, type Caller } from './caller.ts';

/** Whether an operation reads or changes state. */
export type AccessMode = 'read' | 'write';

/**
 * Allows `caller` to `mode` the session and persistent state of `agent` in `tenant`,
 * or throws `Forbidden`:
 * - role `agent`: its own state only (principal = `agent`), read and write;
 * - role `supervisor`: reads any agent of its tenant;
 * - role `operator`: reads and writes any agent of its tenant.
 * Roles add up (an agent that is also a supervisor reads everyone and writes itself).
 * Another tenant is always refused.
 */
export function canAccessAgentScope(caller: Caller, tenant: string, agent: string, mode: AccessMode): void {
  sameTenant(caller, tenant, `${mode} agent state in`);
  if (hasRole(caller, 'operator')) return;
  if (mode === 'read' && hasRole(caller, 'supervisor')) return;
  if (hasRole(caller, 'agent') && caller.principal === agent) return;
  throw new AppError(
    'Forbidden',
    `${describe(caller)} may not ${mode} the state of agent ${JSON.stringify(agent)}`,
  );
}

/**
 * Allows `caller` to `mode` the shared state of `tenant`, or throws `Forbidden`: every
 * role of that tenant may read and write it; another tenant is always refused.
 */
export function canAccessShared(caller: Caller, tenant: string, mode: AccessMode): void {
  sameTenant(caller, tenant, `${mode} the shared state of`);
}

/**
 * Allows the admin API, backups, restores and imports to `caller`, or throws
 * `Forbidden`: role `operator` only, and within `tenant` when the operation names one.
 */
export function canOperate(caller: Caller, tenant?: string): void {
  if (tenant !== undefined) sameTenant(caller, tenant, 'operate on');
  if (!hasRole(caller, 'operator')) throw new AppError('Forbidden', `${describe(caller)} is not an operator`);
}

/**
 * Allows `caller` to approve or deny a request of `requester` in `tenant`, or throws
 * `Forbidden`: a supervisor or operator of that tenant, and never the requester itself
 * (an operator needs no approval: its own calls run directly).
 */
export function canDecideApproval(caller: Caller, tenant: string, requester: string): void {
  sameTenant(caller, tenant, 'decide approvals of');
  if (!hasRole(caller, 'supervisor') && !hasRole(caller, 'operator'))
    throw new AppError('Forbidden', `${describe(caller)} is neither a supervisor nor an operator`);
  if (caller.principal === requester)
    throw new AppError('Forbidden', `${describe(caller)} may not decide its own request`);
}

/**
 * Allows `caller` to see an approval requested by `requester`: the requester, or a
 * supervisor or operator of the tenant; `Forbidden` otherwise.
 */
export function canSeeApproval(caller: Caller, tenant: string, requester: string): void {
  sameTenant(caller, tenant, 'read approvals of');
  if (caller.principal === requester || hasRole(caller, 'supervisor') || hasRole(caller, 'operator')) return;
  throw new AppError('Forbidden', `${describe(caller)} may not see another agent's approval`);
}

/** Allows the audit trail of `tenant` to its operators; `Forbidden` otherwise. */
export function canReadAudit(caller: Caller, tenant: string): void {
  sameTenant(caller, tenant, 'read the audit trail of');
  if (!hasRole(caller, 'operator')) throw new AppError('Forbidden', `${describe(caller)} is not an operator`);
}

// `action` completes "... may not <action> tenant T".
function sameTenant(caller: Caller, tenant: string, action: string): void {
  if (caller.tenant !== tenant) {
    throw new AppError('Forbidden', `${describe(caller)} may not ${action} tenant ${JSON.stringify(tenant)}`);
  }
}

// Names who asked, so a denial in a log or audit record reads on its own.
function describe(caller: Caller): string {
  const via = caller.actingFor === undefined ? '' : ` (through app ${JSON.stringify(caller.actingFor)})`;
  return `${JSON.stringify(caller.principal)} of tenant ${JSON.stringify(caller.tenant)} [${caller.roles.join(', ')}]${via}`;
}
