/**
 * The error table: every problem code a caller can receive, its HTTP status and title.
 * Codes are stable API for programs; titles are for people and may be reworded.
 */
export const PROBLEM_TABLE = {
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Missing scope' },
  ORIGIN_NOT_ALLOWED: { status: 403, title: 'Browser origin not allowed (CORS)' },
  VALIDATION_FAILED: { status: 400, title: 'Invalid request' },
  NOT_FOUND: { status: 404, title: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request did not arrive in time' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  URI_TOO_LONG: { status: 414, title: 'Request path too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  TOO_MANY_REQUESTS: { status: 429, title: 'Too many requests of this caller at once' },
  RATE_LIMITED: { status: 429, title: 'Too many requests of this caller in this window' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  APPLIANCE_NOT_FOUND: { status: 404, title: 'Appliance not configured' },
  SCHEDULE_NOT_FOUND: { status: 404, title: 'Backup schedule not found' },
  JOB_NOT_FOUND: { status: 404, title: 'Backup job not found' },
  FLEET_RUN_NOT_FOUND: { status: 404, title: 'Fleet run not found' },
  BACKUP_IN_PROGRESS: { status: 409, title: 'A backup or restore is already running' },
  TARGET_BUSY: { status: 409, title: 'The backup target is running as many backups as it may' },
  IDEMPOTENCY_REQUEST_IN_PROGRESS: { status: 409, title: 'A request with this Idempotency-Key is still running' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'This Idempotency-Key was used for a different request' },
  APPLIANCE_REJECTED: { status: 422, title: 'The appliance rejected the request' },
  APPLIANCE_AUTH_FAILED: { status: 502, title: "The appliance rejected the gateway's service account" },
  APPLIANCE_PERMISSION_DENIED: {
    status: 502,
    title: "The gateway's service account lacks privileges on the appliance",
  },
  APPLIANCE_ERROR: { status: 502, title: 'The appliance failed or answered unexpectedly' },
  APPLIANCE_UNAVAILABLE: { status: 503, title: 'The appliance is unavailable' },
  APPLIANCE_TLS_ERROR: { status: 502, title: "The appliance's TLS certificate was not trusted" },
  APPLIANCE_TIMEOUT: { status: 504, title: 'The appliance did not answer in time' },
  AUDIT_UNAVAILABLE: { status: 503, title: 'The audit trail cannot be written; nothing was sent to the appliance' },
  OVERLOADED: { status: 503, title: 'The gateway is shedding load' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'The gateway is shutting down or not ready' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEM_TABLE;

export const PROBLEM_CODES = Object.keys(PROBLEM_TABLE) as ProblemCode[];

/** Problem `type` URIs are relative references, one per code, documented in the README's error table. */
export function problemType(code: ProblemCode): string {
  return `/problems/${code.toLowerCase().replaceAll('_', '-')}`;
}
