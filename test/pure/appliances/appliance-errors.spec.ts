import {
  circuitOpen,
  errorCode,
  isConnectionFailure,
  isTimeout,
  malformedAnswer,
  neverReachedAppliance,
  requireJobStatus,
  requireRecord,
  requireStringList,
  serviceAccountRejected,
  sessionRefused,
  transportError,
  type VapiOperation,
} from '../../../src/problems/appliance-errors.js';
import { GatewayError } from '../../../src/problems/gateway-error.js';

const RUN: VapiOperation = {
  appliance: 'vc-a',
  description: 'run backup schedule default',
  notFound: 'SCHEDULE_NOT_FOUND',
  startsBackup: true,
};
const READ: VapiOperation = { appliance: 'vc-a', description: 'read backup job 1', notFound: 'JOB_NOT_FOUND' };

/** Node and undici errors as axios hands them over: the code on the error, or on its cause. */
const failure = (code: string, wrapped = true) =>
  wrapped
    ? Object.assign(new Error('axios'), { code: 'ERR_NETWORK', cause: Object.assign(new Error(code), { code }) })
    : Object.assign(new Error(code), { code });

describe('the transport half of the error table', () => {
  it.each([
    // code, problem, breaker counts it, certainly never reached the appliance, a run may have started
    ['ECONNREFUSED', 'APPLIANCE_UNAVAILABLE', true, true, false],
    ['ENOTFOUND', 'APPLIANCE_UNAVAILABLE', true, true, false],
    ['EAI_AGAIN', 'APPLIANCE_UNAVAILABLE', true, true, false],
    ['EHOSTUNREACH', 'APPLIANCE_UNAVAILABLE', true, true, false],
    ['ENETUNREACH', 'APPLIANCE_UNAVAILABLE', true, true, false],
    ['UND_ERR_CONNECT_TIMEOUT', 'APPLIANCE_UNAVAILABLE', true, true, false],
    ['ECONNRESET', 'APPLIANCE_UNAVAILABLE', true, false, true],
    ['EPIPE', 'APPLIANCE_UNAVAILABLE', true, false, true],
    ['UND_ERR_SOCKET', 'APPLIANCE_UNAVAILABLE', true, false, true],
    ['UND_ERR_CLOSED', 'APPLIANCE_UNAVAILABLE', true, false, true],
    ['ETIMEDOUT', 'APPLIANCE_TIMEOUT', true, false, true],
    ['ECONNABORTED', 'APPLIANCE_TIMEOUT', true, false, true],
    ['UND_ERR_HEADERS_TIMEOUT', 'APPLIANCE_TIMEOUT', true, false, true],
    ['UND_ERR_BODY_TIMEOUT', 'APPLIANCE_TIMEOUT', true, false, true],
    ['ERR_TLS_FINGERPRINT_MISMATCH', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['CERT_HAS_EXPIRED', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['ERR_TLS_SOMETHING_NEW', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['UNABLE_TO_GET_ISSUER_CERT', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['CERT_NOT_YET_VALID', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['CERT_REVOKED', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['CERT_UNTRUSTED', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['CERT_SIGNATURE_FAILURE', 'APPLIANCE_TLS_ERROR', false, true, false],
    ['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'APPLIANCE_ERROR', false, false, true],
    ['ERR_BAD_RESPONSE', 'APPLIANCE_ERROR', false, false, true],
    ['SOMETHING_NEW', 'APPLIANCE_UNAVAILABLE', false, false, true],
  ])(
    '%s → %s (breaker %s, never reached %s, run may have started %s)',
    (code, problem, counts, neverReached, mayHaveStarted) => {
      for (const error of [failure(code), failure(code, false)]) {
        expect(errorCode(error)).toBe(code);
        expect(isConnectionFailure(error)).toBe(counts);
        expect(neverReachedAppliance(error)).toBe(neverReached);
        const run = transportError(error, RUN, 1000);
        expect(run.code).toBe(problem);
        expect(run.details.appliance).toBe('vc-a');
        expect(run.details.mayHaveStarted === true).toBe(mayHaveStarted);
        expect(/may have started/.test(run.detail)).toBe(mayHaveStarted);
        // A read never started a backup, whatever happened.
        const read = transportError(error, READ, 1000);
        expect(read.code).toBe(problem);
        expect(read.details.mayHaveStarted).toBeFalsy();
        expect(read.detail).not.toMatch(/may have started/);
      }
    },
  );

  it('says what happened, in words a caller can act on', () => {
    expect(transportError(failure('ECONNREFUSED'), READ, 1).detail).toBe(
      'Appliance vc-a could not be reached (ECONNREFUSED) when asked to read backup job 1.',
    );
    expect(transportError(failure('ECONNRESET'), READ, 1).detail).toBe(
      'Appliance vc-a closed the connection (ECONNRESET) when asked to read backup job 1.',
    );
    expect(transportError(new Error('no code at all'), READ, 1).detail).toMatch(/\(UNKNOWN\)/);
    expect(transportError(failure('ERR_TLS_FINGERPRINT_MISMATCH'), READ, 1).detail).toBe(
      'Could not read backup job 1 on appliance vc-a: its certificate does not match the pinned fingerprint (tls.fingerprint).',
    );
    expect(transportError(failure('CERT_HAS_EXPIRED'), READ, 1).detail).toBe(
      'Could not read backup job 1 on appliance vc-a: its certificate was not trusted (CERT_HAS_EXPIRED); configure tls.caFile or tls.fingerprint.',
    );
    expect(transportError(failure('ETIMEDOUT'), RUN, 1500).detail).toBe(
      "Appliance vc-a did not answer within 1500 ms when asked to run backup schedule default. The backup may have started: check the appliance's backup jobs (GET /appliances/vc-a/backups/jobs, or Appliance Management > Backup) before running it again.",
    );
  });

  it('only timeouts are timeouts', () => {
    expect(isTimeout(failure('ETIMEDOUT'))).toBe(true);
    expect(isTimeout(failure('ECONNRESET'))).toBe(false);
    expect(isTimeout(new Error('no code'))).toBe(false);
  });

  it('says how long it waited, and suggests a retry only when the appliance could not be reached', () => {
    expect(transportError(failure('ETIMEDOUT'), READ, 1234).detail).toMatch(/within 1234 ms/);
    expect(transportError(failure('ECONNREFUSED'), READ, 1).details.retryAfter).toBe(10);
    expect(transportError(failure('ETIMEDOUT'), READ, 1).details.retryAfter).toBeUndefined();
  });

  it('a refused service account says what to check and when the gateway tries again, with what the appliance said', () => {
    const upstream = { status: 401, errorType: 'UNAUTHENTICATED', messages: [] };
    const rejection = new GatewayError('APPLIANCE_AUTH_FAILED', 'no', { upstream });
    const error = serviceAccountRejected('vc-a', 120, rejection);
    expect(error).toMatchObject({
      code: 'APPLIANCE_AUTH_FAILED',
      detail:
        "Appliance vc-a rejected the gateway's service account; check its username and password in the gateway configuration. To spare the account from SSO lockout, the gateway does not try again for 120 s (a configuration reload with new credentials tries at once).",
      details: { appliance: 'vc-a', retryAfter: 120, upstream },
    });
    expect(serviceAccountRejected('vc-a', 5).details.upstream).toBeUndefined();
    expect(sessionRefused('vc-b')).toMatchObject({
      code: 'APPLIANCE_AUTH_FAILED',
      detail:
        "Appliance vc-b refused the gateway's session right after a fresh login; its service account may have been disabled.",
      details: { appliance: 'vc-b' },
    });
  });

  it('an open circuit says nothing was sent and when to come back', () => {
    const error = circuitOpen('vc-a', 5, 12);
    expect(error.code).toBe('APPLIANCE_UNAVAILABLE');
    expect(error.details.retryAfter).toBe(12);
    expect(error.detail).toMatch(/5 times in a row/);
    expect(error.detail).toMatch(/Nothing was sent/);
  });
});

describe('answer guards', () => {
  it('a run answered with something that is not a job may have started a backup', () => {
    for (const answer of [null, 'x', 42, [], {}, { id: 1, state: 'INPROGRESS' }, { id: 'j' }]) {
      expect(() => requireJobStatus(answer, RUN)).toThrow(
        expect.objectContaining({
          code: 'APPLIANCE_ERROR',
          details: expect.objectContaining({ mayHaveStarted: true }),
        }),
      );
    }
    expect(requireJobStatus({ id: 'j', state: 'INPROGRESS' }, RUN)).toEqual({ id: 'j', state: 'INPROGRESS' });
  });

  it('a read answered badly is malformed, and started nothing', () => {
    expect(() => requireRecord([], READ)).toThrow(expect.objectContaining({ code: 'APPLIANCE_ERROR' }));
    expect(() => requireStringList(['a', 1], READ)).toThrow(expect.objectContaining({ code: 'APPLIANCE_ERROR' }));
    expect(requireStringList(['a', 'b'], READ)).toEqual(['a', 'b']);
    expect(malformedAnswer(READ).details.mayHaveStarted).toBe(false);
    expect(malformedAnswer(READ).detail).toBe(
      'Appliance vc-a sent a malformed answer when asked to read backup job 1.',
    );
  });
});
