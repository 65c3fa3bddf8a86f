/**
 * Staff roles and what each may do (DESIGN.md "API shape"). Deny by default: a permission not listed for a role is
 * refused, and a route must name its permission to exist at all (api/route-permissions.ts).
 */

export const ROLES = ['support', 'privacy_officer', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'customers:create',
  'customers:read',
  'requests:create',
  'requests:read',
  'requests:decide',
  'legal-holds:read',
  'legal-holds:manage',
  'retention-policies:read',
  'retention-policies:manage',
  'contracts:manage',
  'terminations:manage',
  'certificates:read',
  'audit:read',
  'subprocessors:read',
  'subprocessors:manage',
  'changes:read',
  'changes:decide',
  'codec:use',
  // Who am I and what may I do: every role (the staff console shows only the actions the role may take).
  'session:read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Which role holds which permission. */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  // Starts requests and follows them.
  support: [
    'customers:create',
    'customers:read',
    'requests:create',
    'requests:read',
    // Schedules and cancels terminations; the irreversible erasure still needs a privacy officer's approval.
    'terminations:manage',
    // Operates the workflows it starts: the Web UI shows their decrypted inputs through the codec endpoint.
    'codec:use',
    'session:read',
  ],
  // Decides: approvals, extensions, legal holds, retention policies.
  privacy_officer: [
    'customers:read',
    'requests:read',
    'requests:decide',
    'legal-holds:read',
    'legal-holds:manage',
    'retention-policies:read',
    'retention-policies:manage',
    // Moving a contract's end moves every contract-end deletion date of the customer's data.
    'contracts:manage',
    // Terminations, and overriding the contract's disposition (checked by the route).
    'terminations:manage',
    'subprocessors:read',
    // Deletion certificates: the officer approves the erasure they certify.
    'certificates:read',
    // Four eyes: another officer's contract or retention change (README "Approvals").
    'changes:read',
    'changes:decide',
    // Operates the workflows it decides on (Web UI, through the codec endpoint).
    'codec:use',
    'session:read',
  ],
  // Reads the evidence, changes nothing. No `codec:use`: the codec decrypts any workflow payload, and the evidence is
  // the audit log and the certificates, not the workflows' data.
  auditor: [
    'requests:read',
    'audit:read',
    'certificates:read',
    'legal-holds:read',
    'retention-policies:read',
    'subprocessors:read',
    'changes:read',
    'session:read',
  ],
  // Runs the service: tokens (CLI) and the subprocessor registry. It operates no workflow, so no `codec:use`.
  // Four eyes: another admin's new subprocessor, or its new URL or secret (README "Approvals").
  admin: ['subprocessors:read', 'subprocessors:manage', 'changes:read', 'changes:decide', 'session:read'],
};

/** Whether `role` holds `permission`. */
export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
