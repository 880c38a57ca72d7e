/**
 * Each route's access rule is part of the contract (`x-access` in the committed document, written by @RequireScope
 * from the same metadata the ScopeGuard reads): loosening one, say the job event stream from `appliance` to `any`,
 * changes the committed document, and this table says what it must be.
 */
import { readFileSync } from 'node:fs';
import { OPENAPI_FILE } from '../../../src/openapi-export.js';

const EXPECTED: Record<string, { scope: string; rule: string } | 'public'> = {
  listAppliances: { scope: 'backups:read', rule: 'any' },
  listJobs: { scope: 'backups:read', rule: 'appliance' },
  getJob: { scope: 'backups:read', rule: 'appliance' },
  watchJob: { scope: 'backups:read', rule: 'appliance' },
  listSchedules: { scope: 'backups:read', rule: 'appliance' },
  runSchedule: { scope: 'backups:run', rule: 'use-case' },
  runScheduleOnDefaultAppliance: { scope: 'backups:run', rule: 'use-case' },
  runFleet: { scope: 'backups:run', rule: 'use-case' },
  // The caller who started a fleet run, or backups:read (backups:run to cancel) on every one of its appliances.
  getFleetRun: { scope: 'backups:read', rule: 'use-case' },
  watchFleetRun: { scope: 'backups:read', rule: 'use-case' },
  cancelFleetRun: { scope: 'backups:run', rule: 'use-case' },
  listAuditEvents: { scope: 'audit:read', rule: 'any' },
  verifyAuditTrail: { scope: 'audit:read', rule: 'all' },
  listNotificationDeliveries: { scope: 'audit:read', rule: 'all' },
  live: 'public',
  ready: 'public',
};

interface Operation {
  operationId?: string;
  security?: unknown[];
  'x-access'?: { scope: string; rule: string };
}

describe('access rules in the committed OpenAPI document', () => {
  const document = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as {
    paths: Record<string, Record<string, Operation>>;
  };
  const operations = Object.values(document.paths).flatMap((path) => Object.values(path));

  it('every operation states its rule, and the rules are these', () => {
    const actual = Object.fromEntries(
      operations.map((operation) => [operation.operationId, operation['x-access'] ?? 'public']),
    );
    expect(actual).toEqual(EXPECTED);
  });

  it('an operation with a rule requires credentials; a public one requires none', () => {
    for (const operation of operations) {
      const secured = (operation.security?.length ?? 0) > 0;
      expect({ id: operation.operationId, secured }).toEqual({
        id: operation.operationId,
        secured: operation['x-access'] !== undefined,
      });
    }
  });
});
