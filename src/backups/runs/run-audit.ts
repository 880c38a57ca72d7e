/** How a failed run reads in the audit trail (who asked and which run: audit/run-entries.ts). */
import type { AuditOutcome } from '../../audit/audit-entry.js';
import { GatewayError } from '../../problems/gateway-error.js';

export interface RunFailure {
  outcome: AuditOutcome;
  httpStatus: number;
  code: string;
}

/**
 * How a failed run reads in the audit trail. `unknown` whenever the backup may have started (a timeout, a lost
 * connection, an answer that is not the appliance's own, or a bug of ours after sending); `rejected` when the
 * appliance (or our own table of appliances) said no; `failed` when it could not be done.
 */
export function runFailure(error: unknown): RunFailure {
  if (!(error instanceof GatewayError)) return { outcome: 'unknown', httpStatus: 500, code: 'INTERNAL_ERROR' };
  const { status, code } = error;
  if (error.details.mayHaveStarted) return { outcome: 'unknown', httpStatus: status, code };
  if (status >= 400 && status < 500) return { outcome: 'rejected', httpStatus: status, code };
  return { outcome: 'failed', httpStatus: status, code };
}
