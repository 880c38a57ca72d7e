import { GatewayError } from '../problems/gateway-error.js';

/** 503 AUDIT_UNAVAILABLE with Retry-After: the audit trail cannot be written or read right now. */
export function auditUnavailable(detail: string, cause?: unknown): GatewayError {
  return new GatewayError('AUDIT_UNAVAILABLE', detail, { retryAfter: 30, cause });
}
