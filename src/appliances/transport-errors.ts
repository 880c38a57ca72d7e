import { GatewayError } from '../problems/gateway-error.js';
import { FINGERPRINT_MISMATCH } from './tls-connector.js';

/** Connection never established: the request cannot have reached the appliance. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT = new Set(['ETIMEDOUT', 'ECONNABORTED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const TLS_CODES = new Set([
  FINGERPRINT_MISMATCH,
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function errorCode(error: unknown): string | undefined {
  const own = (error as { code?: unknown })?.code;
  const cause = (error as { cause?: { code?: unknown } })?.cause?.code;
  if (typeof cause === 'string' && (own === undefined || own === 'ERR_NETWORK')) return cause;
  return typeof own === 'string' ? own : typeof cause === 'string' ? cause : undefined;
}

function isTls(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_');
}

/** True when a failed request certainly did not reach the appliance, so even a run could be sent again. */
export function neverReachedAppliance(error: unknown): boolean {
  const code = errorCode(error) ?? '';
  return NOT_CONNECTED.has(code) || isTls(code);
}

/** Connection refused, reset or timed out: what a circuit breaker counts (not TLS refusals, not answers). */
export function isConnectionFailure(error: unknown): boolean {
  const code = errorCode(error) ?? '';
  return NOT_CONNECTED.has(code) || TIMEOUT.has(code) || CONNECTION_LOST.has(code);
}

export function isTimeout(error: unknown): boolean {
  return TIMEOUT.has(errorCode(error) ?? '');
}

export interface TransportContext {
  appliance: string;
  timeoutMs: number;
  description: string;
  /** A run whose outcome is unknown: say so, and how to check, instead of inviting a blind retry. */
  mayHaveStartedBackup: boolean;
}

const MAY_HAVE_STARTED =
  " The backup may have started: check the appliance's backup jobs (GET /appliances/{appliance}/backups/jobs/{jobId}, or Appliance Management > Backup) before running it again.";

/**
 * A failed run whose backup may have started anyway: the hint for the caller's `detail` (so they check instead of
 * retrying blindly) and the flag the audit trail reads as outcome `unknown`, always together.
 */
export function mayHaveStarted(appliance: string, started: boolean): { hint: string; outcomeUnknown: boolean } {
  return started
    ? { hint: MAY_HAVE_STARTED.replace('{appliance}', appliance), outcomeUnknown: true }
    : { hint: '', outcomeUnknown: false };
}

/** Maps a transport failure (no HTTP answer) to the caller's problem; the cause stays for our logs only. */
export function transportError(error: unknown, context: TransportContext): GatewayError {
  const code = errorCode(error) ?? 'UNKNOWN';
  const { appliance } = context;
  const { hint, outcomeUnknown } = mayHaveStarted(
    appliance,
    context.mayHaveStartedBackup && !neverReachedAppliance(error),
  );
  if (isTls(code)) {
    const why =
      code === FINGERPRINT_MISMATCH
        ? 'its certificate does not match the pinned fingerprint (tls.fingerprint)'
        : `its certificate was not trusted (${code}); configure tls.caFile or tls.fingerprint`;
    return new GatewayError(
      'APPLIANCE_TLS_ERROR',
      `Could not ${context.description} on appliance ${appliance}: ${why}.`,
      {
        appliance,
        cause: error,
      },
    );
  }
  if (TIMEOUT.has(code)) {
    return new GatewayError(
      'APPLIANCE_TIMEOUT',
      `Appliance ${appliance} did not answer within ${context.timeoutMs} ms when asked to ${context.description}.${hint}`,
      { appliance, cause: error, outcomeUnknown },
    );
  }
  if (code === 'ERR_BAD_RESPONSE') {
    return new GatewayError(
      'APPLIANCE_ERROR',
      `Appliance ${appliance} sent a malformed answer when asked to ${context.description}.${hint}`,
      { appliance, cause: error, outcomeUnknown },
    );
  }
  const how = NOT_CONNECTED.has(code) ? 'could not be reached' : 'closed the connection';
  return new GatewayError(
    'APPLIANCE_UNAVAILABLE',
    `Appliance ${appliance} ${how} (${code}) when asked to ${context.description}.${hint}`,
    { appliance, retryAfter: 10, cause: error, outcomeUnknown },
  );
}
