/**
 * The appliance half of the error table: what each way of failing to get an answer (transport errors), each
 * answer we cannot use, an open circuit and a service account in login backoff mean to the caller. The vAPI error
 * bodies themselves are mapped in vapi-error-map.ts.
 */
import { GatewayError } from './gateway-error.js';

/** What the caller asked the appliance to do: named in `detail`, and whether it may have started a backup. */
export interface VapiOperation {
  appliance: string;
  /** e.g. `run backup schedule daily`; used in `detail`. */
  description: string;
  /** The problem a vAPI NOT_FOUND means for this operation (the schedule, the job, or neither). */
  notFound: 'SCHEDULE_NOT_FOUND' | 'JOB_NOT_FOUND' | 'APPLIANCE_ERROR';
  /** A run: a failure after it was sent may hide a backup that started. */
  startsBackup?: boolean;
}

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
export const FINGERPRINT_MISMATCH = 'ERR_TLS_FINGERPRINT_MISMATCH';
/** OpenSSL's certificate verdicts; Node's own `ERR_TLS_*` and `ERR_SSL_*` codes are TLS failures by prefix (isTls). */
const TLS_CODES = new Set([
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
]);

/** The error code of a transport failure: axios wraps undici's and Node's errors, whose code is then the cause's. */
export function errorCode(error: unknown): string | undefined {
  const own = (error as { code?: unknown })?.code;
  const cause = (error as { cause?: { code?: unknown } })?.cause?.code;
  if (typeof cause === 'string' && own === 'ERR_NETWORK') return cause;
  return typeof own === 'string' ? own : typeof cause === 'string' ? cause : undefined;
}

/**
 * What the TLS connector attaches to a connection it could not establish: how that appliance is trusted, so the
 * advice fits the case (set by src/appliances/tls-connector.ts).
 */
export const TLS_TRUST = 'applianceTlsTrust';
export interface TlsTrust {
  caFile?: string;
  fingerprint: boolean;
  insecure: boolean;
}

/** The peer did not answer in TLS at all: typically an https:// URL naming a plain-http port. */
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST']);
/** The certificate chains to nothing we trust: what tls.caFile or tls.fingerprint would fix. */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

function tlsTrustOf(error: unknown): TlsTrust | undefined {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    const trust = (current as Record<string, unknown>)[TLS_TRUST];
    if (trust) return trust as TlsTrust;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Why the appliance could not be trusted, and the one change that fixes it in this setup. */
function tlsAdvice(code: string, error: unknown): string {
  const trust = tlsTrustOf(error);
  if (code === FINGERPRINT_MISMATCH) return 'its certificate does not match the pinned fingerprint (tls.fingerprint)';
  if (NOT_TLS.has(code)) {
    return `it did not answer in TLS (${code}): the URL says https:// but that port may serve plain HTTP; check the scheme and port of its url`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `its certificate does not name the host in its url (${code}); use a host name the certificate names, or pin tls.fingerprint`;
  }
  if (code.startsWith('ERR_SSL_')) return `the TLS handshake failed (${code})`;
  // The file's path stays out: callers read this, and where the gateway keeps its files is not theirs to know.
  if (UNTRUSTED.has(code) && trust?.caFile !== undefined) {
    return `its certificate was not issued by a CA in its tls.caFile (${code}); that file must hold the CA that signed it (the appliance's VMCA root), or pin tls.fingerprint instead`;
  }
  if (trust?.caFile !== undefined || trust?.fingerprint) return `its certificate was not trusted (${code})`;
  return `its certificate was not trusted (${code}); configure tls.caFile or tls.fingerprint`;
}

function isTls(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_');
}

/** True when a failed request certainly did not reach the appliance, so even a run could be sent again. */
export function neverReachedAppliance(error: unknown): boolean {
  const code = errorCode(error) ?? '';
  return NOT_CONNECTED.has(code) || isTls(code);
}

/**
 * Connection refused, unreachable or broken: no answer, and not for slowness. What a read is asked again after (an
 * oversized answer, a refused certificate or a timeout would come back the same way).
 */
export function isBrokenConnection(error: unknown): boolean {
  const code = errorCode(error) ?? '';
  return NOT_CONNECTED.has(code) || CONNECTION_LOST.has(code);
}

/** Connection refused, reset or timed out: what a circuit breaker counts (not TLS refusals, not answers). */
export function isConnectionFailure(error: unknown): boolean {
  return isBrokenConnection(error) || isTimeout(error);
}

export function isTimeout(error: unknown): boolean {
  return TIMEOUT.has(errorCode(error) ?? '');
}

const MAY_HAVE_STARTED_HINT =
  " The backup may have started: check the appliance's backup jobs (GET /appliances/{appliance}/backups/jobs, or Appliance Management > Backup) before running it again.";

/**
 * A failed run whose backup may have started anyway gets the hint in `detail` (so the caller checks instead of
 * retrying blindly) and the flag the audit trail reads as outcome `unknown`: always both, or neither.
 */
export function ifMayHaveStarted(
  operation: VapiOperation,
  possible: boolean,
): { hint: string; mayHaveStarted: boolean } {
  return possible && operation.startsBackup === true
    ? { hint: MAY_HAVE_STARTED_HINT.replace('{appliance}', operation.appliance), mayHaveStarted: true }
    : { hint: '', mayHaveStarted: false };
}

/** Maps a transport failure (no HTTP answer) to the caller's problem; the cause stays for our logs only. */
export function transportError(error: unknown, operation: VapiOperation, timeoutMs: number): GatewayError {
  const code = errorCode(error) ?? 'UNKNOWN';
  const { appliance, description } = operation;
  const { hint, mayHaveStarted } = ifMayHaveStarted(operation, !neverReachedAppliance(error));
  if (isTls(code)) {
    const why = tlsAdvice(code, error);
    return new GatewayError('APPLIANCE_TLS_ERROR', `Could not ${description} on appliance ${appliance}: ${why}.`, {
      appliance,
      cause: error,
    });
  }
  if (TIMEOUT.has(code)) return noAnswerWithin(operation, timeoutMs, error);
  if (code === 'ERR_BAD_RESPONSE' || code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return malformedAnswer(operation, error);
  const how = NOT_CONNECTED.has(code) ? 'could not be reached' : 'closed the connection';
  return new GatewayError(
    'APPLIANCE_UNAVAILABLE',
    `Appliance ${appliance} ${how} (${code}) when asked to ${description}.${hint}`,
    { appliance, retryAfter: 10, cause: error, mayHaveStarted },
  );
}

/**
 * The appliance did not answer `operation` within `timeoutMs`: the request's own timeout (`cause`), or a deadline over
 * several requests. Either way the request was sent (a connection that never opened is not a timeout here, see
 * NOT_CONNECTED), so a run may have started.
 */
export function noAnswerWithin(operation: VapiOperation, timeoutMs: number, cause?: unknown): GatewayError {
  const { appliance, description } = operation;
  const { hint, mayHaveStarted } = ifMayHaveStarted(operation, true);
  return new GatewayError(
    'APPLIANCE_TIMEOUT',
    `Appliance ${appliance} did not answer within ${timeoutMs} ms when asked to ${description}.${hint}`,
    { appliance, cause, mayHaveStarted },
  );
}

/** An answer that is not what the operation returns (not JSON, or not the shape it must have). */
export function malformedAnswer(operation: VapiOperation, cause?: unknown): GatewayError {
  const { hint, mayHaveStarted } = ifMayHaveStarted(operation, true);
  return new GatewayError(
    'APPLIANCE_ERROR',
    `Appliance ${operation.appliance} sent a malformed answer when asked to ${operation.description}.${hint}`,
    { appliance: operation.appliance, mayHaveStarted, cause },
  );
}

/** The circuit is open: nothing was sent. */
export function circuitOpen(appliance: string, failures: number, retryAfter: number): GatewayError {
  return new GatewayError(
    'APPLIANCE_UNAVAILABLE',
    `Appliance ${appliance} failed ${failures} times in a row (connection failures or timeouts); calls fail fast until it is tried again in ${retryAfter} s. Nothing was sent.`,
    { appliance, retryAfter },
  );
}

/** Our connections to the appliance for this kind of request are all busy and the queue is full: nothing was sent. */
export function upstreamBusy(appliance: string, lane: 'run' | 'read'): GatewayError {
  return new GatewayError(
    'OVERLOADED',
    `Every connection the gateway keeps to appliance ${appliance} for ${lane === 'run' ? 'runs' : 'reads'} is busy and the queue is full. Nothing was sent; retry shortly.`,
    { appliance, retryAfter: 1 },
  );
}

/**
 * The appliance rejected our service account at login. vCenter's SSO locks an account after a few failures (by
 * default 5 within 180 s, for 5–15 minutes), and other tools may share it, so we stop trying for a while.
 */
export function serviceAccountRejected(appliance: string, retryAfter: number, upstream?: GatewayError): GatewayError {
  return new GatewayError(
    'APPLIANCE_AUTH_FAILED',
    `Appliance ${appliance} rejected the gateway's service account; check its username and password in the gateway configuration. To spare the account from SSO lockout, the gateway does not try again for ${retryAfter} s (a configuration reload with new credentials tries at once).`,
    { appliance, retryAfter, upstream: upstream?.details.upstream },
  );
}

/** A run refused with 401 right after a fresh login: the account may have been disabled. */
export function sessionRefused(appliance: string): GatewayError {
  return new GatewayError(
    'APPLIANCE_AUTH_FAILED',
    `Appliance ${appliance} refused the gateway's session right after a fresh login; its service account may have been disabled.`,
    { appliance },
  );
}

/** The answer must be a JSON object (the operation's documented shape), else it is a malformed answer. */
export function requireRecord(value: unknown, operation: VapiOperation): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw malformedAnswer(operation);
  return value as Record<string, unknown>;
}

/** A BackupJobStatus needs at least its `id` and `state` to be followed. */
export function requireJobStatus<T extends { id: string; state: string }>(value: unknown, operation: VapiOperation): T {
  const record = requireRecord(value, operation);
  if (typeof record.id !== 'string' || typeof record.state !== 'string') throw malformedAnswer(operation);
  return record as T;
}

export function requireStringList(value: unknown, operation: VapiOperation): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw malformedAnswer(operation);
  return value;
}
