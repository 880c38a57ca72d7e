import { GatewayError } from '../problems/gateway-error.js';
import type { AuditOutcome } from './audit-entry.js';

export interface RunFailure {
  outcome: AuditOutcome;
  httpStatus: number;
  code: string;
}

/**
 * How a failed run reads in the audit trail. `unknown` whenever the backup may have started (a timeout, a lost
 * connection, a garbled answer, or a bug of ours after sending); `rejected` when the appliance (or our own table of
 * appliances) said no; `failed` when it could not do it.
 */
export function runFailure(error: unknown): RunFailure {
  if (!(error instanceof GatewayError)) return { outcome: 'unknown', httpStatus: 500, code: 'INTERNAL_ERROR' };
  const { status, code } = error;
  if (error.details.outcomeUnknown) return { outcome: 'unknown', httpStatus: status, code };
  if (status >= 400 && status < 500) return { outcome: 'rejected', httpStatus: status, code };
  return { outcome: 'failed', httpStatus: status, code };
}
