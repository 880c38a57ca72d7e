import { PROBLEM_TABLE, type ProblemCode, problemType } from './problem-codes.js';

/**
 * A typical `detail` for every code, shown as that code's example in the OpenAPI document. A Record, so a code added
 * to the error table without an example fails the type check: the documented errors cannot fall behind the table.
 */
const DETAILS: Record<ProblemCode, string> = {
  UNAUTHENTICATED: 'Send a bearer token (Authorization: Bearer …) or an API key (X-API-Key).',
  FORBIDDEN: 'This needs scope backups:run or backups:run:vc-a.',
  ORIGIN_NOT_ALLOWED:
    'Browser pages from https://elsewhere.example.com may not call this API: the origin is not in cors.origins.',
  VALIDATION_FAILED: 'comment must be shorter than or equal to 1000 characters',
  NOT_FOUND: 'No route matches this method and path.',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  REQUEST_TIMEOUT: 'The request did not arrive in time; send it whole, and faster.',
  PAYLOAD_TOO_LARGE: 'The request body exceeds the limit of 16 KiB.',
  URI_TOO_LONG: 'A path parameter is longer than 512 characters.',
  UNSUPPORTED_MEDIA_TYPE: 'Send the request body as application/json.',
  TOO_MANY_REQUESTS: 'You already have 16 requests under way; wait for their answers.',
  RATE_LIMITED: 'You sent more than 10 run requests in the last minute; retry after the Retry-After delay.',
  HEADERS_TOO_LARGE: 'The request headers exceed the limit of 16 KiB.',
  APPLIANCE_NOT_FOUND: 'No appliance vc-x is configured.',
  SCHEDULE_NOT_FOUND: 'Appliance vc-a refused to run backup schedule nightly: Schedule nightly does not exist.',
  JOB_NOT_FOUND: 'Appliance vc-a refused to read backup job 20261126-120000-00000001: Job not found.',
  FLEET_RUN_NOT_FOUND: 'No fleet run 6f1c2b9e-0d4a-4f6e-9a51-0f3b2f8e7a11 that you may read.',
  TARGET_BUSY:
    'Backup target sftp://nas-1.example.com:22 already runs 4 backups started by this gateway (fleet.perTargetConcurrency); send the request with Prefer: respond-async to queue vc-a instead.',
  BACKUP_IN_PROGRESS:
    'Appliance vc-a refused to run backup schedule default: A backup or restore is already in progress.',
  IDEMPOTENCY_REQUEST_IN_PROGRESS:
    'A request with this Idempotency-Key is still being handled; send it again shortly for its answer.',
  APPLIANCE_REJECTED: 'Appliance vc-a refused to run backup schedule default: The backup location is not reachable.',
  IDEMPOTENCY_KEY_REUSED:
    'This Idempotency-Key was sent before with a different method, path or body; use a new key for a new request.',
  APPLIANCE_AUTH_FAILED:
    "Appliance vc-a rejected the gateway's service account; check its username and password in the gateway configuration.",
  APPLIANCE_PERMISSION_DENIED: 'Appliance vc-a refused to run backup schedule default: Unable to authorize user.',
  APPLIANCE_ERROR: 'Appliance vc-a sent a malformed answer when asked to read backup job 20261126-120000-00000001.',
  APPLIANCE_UNAVAILABLE: 'Appliance vc-a could not be reached (ECONNREFUSED) when asked to list backup schedules.',
  APPLIANCE_TLS_ERROR:
    'Could not list backup schedules on appliance vc-a: its certificate does not match the pinned fingerprint (tls.fingerprint).',
  APPLIANCE_TIMEOUT:
    'Appliance vc-a did not answer within 10000 ms when asked to read backup job 20261126-120000-00000001.',
  AUDIT_UNAVAILABLE: 'The audit trail cannot be written, so the run was refused; nothing was sent to the appliance.',
  OVERLOADED: 'The gateway is overloaded (eventLoopDelay); retry after the Retry-After delay.',
  SERVICE_UNAVAILABLE: 'The gateway is shutting down.',
  INTERNAL_ERROR: 'The gateway failed to handle this request; the request id identifies it in our logs.',
};

const RUN = '/appliances/vc-a/backups/schedules/default/run';
const JOB = '/appliances/vc-a/backups/jobs/20261126-120000-00000001';
const SCHEDULES = '/appliances/vc-a/backups/schedules';
/** The route each example's `detail` speaks of (a run unless listed). */
const INSTANCES: Partial<Record<ProblemCode, string>> = {
  NOT_FOUND: '/appliance',
  APPLIANCE_NOT_FOUND: '/appliances/vc-x/backups/schedules/default/run',
  JOB_NOT_FOUND: JOB,
  APPLIANCE_ERROR: JOB,
  APPLIANCE_TIMEOUT: JOB,
  APPLIANCE_UNAVAILABLE: SCHEDULES,
  APPLIANCE_TLS_ERROR: SCHEDULES,
  SERVICE_UNAVAILABLE: '/health/ready',
};

/** The OpenAPI example object of a code: a problem document as the gateway sends it. */
export function problemExample(code: ProblemCode) {
  const { status, title } = PROBLEM_TABLE[code];
  return {
    summary: title,
    value: {
      type: problemType(code),
      title,
      status,
      detail: DETAILS[code],
      instance: INSTANCES[code] ?? RUN,
      code,
      requestId: '3f0c9a52-4d0e-4d8e-9a51-0f3b2f8e7a11',
    },
  };
}
