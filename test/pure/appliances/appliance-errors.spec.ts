import {
  circuitOpen,
  errorCode,
  ifMayHaveStarted,
  isBrokenConnection,
  isConnectionFailure,
  isTimeout,
  malformedAnswer,
  neverReachedAppliance,
  requireJobStatus,
  requireRecord,
  requireStringList,
  serviceAccountRejected,
  sessionRefused,
  TLS_TRUST,
  transportError,
  upstreamBusy,
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

  it.each([
    ['ECONNREFUSED', true],
    ['UND_ERR_CONNECT_TIMEOUT', true],
    ['ECONNRESET', true],
    ['UND_ERR_SOCKET', true],
    ['UND_ERR_HEADERS_TIMEOUT', false],
    ['ETIMEDOUT', false],
    ['UND_ERR_RES_EXCEEDED_MAX_SIZE', false],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', false],
    ['SOMETHING_NEW', false],
  ])('a connection that failed or broke is what a read is asked again after: %s → %s', (code, broken) => {
    expect(isBrokenConnection(failure(code))).toBe(broken);
    expect(isBrokenConnection(failure(code, false))).toBe(broken);
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

describe('TLS advice: the one change that fixes it, for how the appliance is trusted', () => {
  /** A connection error as the TLS connector leaves it: the trust attached, on the error or on one of its causes. */
  const tlsFailure = (
    code: string,
    trust?: { caFile?: string; fingerprint: boolean; insecure: boolean },
    depth = 0,
  ) => {
    let error: Error = Object.assign(new Error(code), { code }, trust && { [TLS_TRUST]: trust });
    for (let level = 0; level < depth; level++) error = Object.assign(new Error('wrapped'), { cause: error });
    return error;
  };
  const detail = (error: unknown) => transportError(error, READ, 1).detail;
  const prefix = 'Could not read backup job 1 on appliance vc-a: ';

  it('a plain-http port behind an https:// URL says to check the scheme and port', () => {
    for (const code of ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST']) {
      expect(detail(tlsFailure(code))).toBe(
        `${prefix}it did not answer in TLS (${code}): the URL says https:// but that port may serve plain HTTP; check the scheme and port of its url.`,
      );
    }
  });

  it('a certificate for another name says to use a name it holds, or to pin', () => {
    expect(detail(tlsFailure('ERR_TLS_CERT_ALTNAME_INVALID'))).toBe(
      `${prefix}its certificate does not name the host in its url (ERR_TLS_CERT_ALTNAME_INVALID); use a host name the certificate names, or pin tls.fingerprint.`,
    );
  });

  it('any other TLS-library failure is a failed handshake, named by its code', () => {
    expect(detail(tlsFailure('ERR_SSL_DECRYPTION_FAILED'))).toBe(
      `${prefix}the TLS handshake failed (ERR_SSL_DECRYPTION_FAILED).`,
    );
  });

  it('an untrusted chain with a caFile says the file lacks the CA, without the file path', () => {
    const caFile = '/etc/gateway/secret-place/vmca.pem';
    for (const code of [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'CERT_UNTRUSTED',
    ]) {
      const text = detail(tlsFailure(code, { caFile, fingerprint: false, insecure: false }));
      expect(text).toBe(
        `${prefix}its certificate was not issued by a CA in its tls.caFile (${code}); that file must hold the CA that signed it (the appliance's VMCA root), or pin tls.fingerprint instead.`,
      );
      expect(text).not.toContain('secret-place');
      // Without a caFile, the same code asks for one.
      expect(detail(tlsFailure(code))).toBe(
        `${prefix}its certificate was not trusted (${code}); configure tls.caFile or tls.fingerprint.`,
      );
    }
  });

  it('a certificate refused for another reason, with trust configured, is not told to configure trust', () => {
    expect(detail(tlsFailure('CERT_HAS_EXPIRED', { caFile: '/x.pem', fingerprint: false, insecure: false }))).toBe(
      `${prefix}its certificate was not trusted (CERT_HAS_EXPIRED).`,
    );
    expect(detail(tlsFailure('CERT_HAS_EXPIRED', { fingerprint: true, insecure: false }))).toBe(
      `${prefix}its certificate was not trusted (CERT_HAS_EXPIRED).`,
    );
    expect(detail(tlsFailure('CERT_HAS_EXPIRED', { fingerprint: false, insecure: false }))).toBe(
      `${prefix}its certificate was not trusted (CERT_HAS_EXPIRED); configure tls.caFile or tls.fingerprint.`,
    );
  });

  it('the trust is found on the error or up to three causes down, not deeper', () => {
    const trust = { caFile: '/x.pem', fingerprint: false, insecure: false };
    const withFile = `${prefix}its certificate was not issued by a CA in its tls.caFile`;
    for (const depth of [0, 1, 2, 3]) {
      // The code is read from the error or its cause (as axios wraps it); the trust may sit deeper.
      const error = Object.assign(new Error('axios'), {
        code: 'CERT_UNTRUSTED',
        cause: tlsFailure('CERT_UNTRUSTED', trust, Math.max(0, depth - 1)),
      });
      const found = depth === 0 ? Object.assign(error, { [TLS_TRUST]: trust }) : error;
      expect(detail(found)).toMatch(new RegExp(`^${withFile.replace(/[.()]/g, '\\$&')}`));
    }
    const tooDeep = Object.assign(new Error('axios'), {
      code: 'CERT_UNTRUSTED',
      cause: tlsFailure('CERT_UNTRUSTED', trust, 3),
    });
    expect(detail(tooDeep)).toMatch(/configure tls\.caFile or tls\.fingerprint\.$/);
    // A chain that ends in null (an error whose cause was cleared) is searched up to its end.
    expect(detail(Object.assign(new Error('tls'), { code: 'CERT_UNTRUSTED', cause: null }))).toMatch(
      /configure tls\.caFile or tls\.fingerprint\.$/,
    );
  });

  it('a TLS failure is a TLS problem with its cause kept for the logs, and never a possible backup start', () => {
    const cause = tlsFailure('CERT_HAS_EXPIRED');
    const error = transportError(cause, RUN, 1);
    expect(error.code).toBe('APPLIANCE_TLS_ERROR');
    expect(error.details).toEqual({ appliance: 'vc-a', cause });
  });
});

describe('error codes as axios, undici and Node nest them', () => {
  it("the cause's code replaces axios's generic ERR_NETWORK or a missing code, never a specific one", () => {
    const cause = { code: 'ECONNRESET' };
    expect(errorCode({ code: 'ERR_NETWORK', cause })).toBe('ECONNRESET');
    expect(errorCode({ cause })).toBe('ECONNRESET');
    expect(errorCode({ code: 'ETIMEDOUT', cause })).toBe('ETIMEDOUT');
    expect(errorCode({ code: 'ERR_NETWORK' })).toBe('ERR_NETWORK');
    expect(errorCode({ code: 'ERR_NETWORK', cause: { code: 7 } })).toBe('ERR_NETWORK');
    // A code that is not a string is no code; the cause's string code is used instead.
    expect(errorCode({ code: 42, cause })).toBe('ECONNRESET');
    expect(errorCode({ code: 42 })).toBeUndefined();
    expect(errorCode({ code: 42, cause: { code: 7 } })).toBeUndefined();
    expect(errorCode({ cause: { code: 7 } })).toBeUndefined();
    expect(errorCode(undefined)).toBeUndefined();
    expect(errorCode(null)).toBeUndefined();
    expect(errorCode('ECONNRESET')).toBeUndefined();
  });

  it('a transport failure keeps its cause and the retry advice in details; a timeout says it may have started', () => {
    const refused = failure('ECONNREFUSED');
    expect(transportError(refused, RUN, 1).details).toEqual({
      appliance: 'vc-a',
      retryAfter: 10,
      cause: refused,
      mayHaveStarted: false,
    });
    const timeout = failure('ETIMEDOUT');
    expect(transportError(timeout, RUN, 1).details).toEqual({
      appliance: 'vc-a',
      cause: timeout,
      mayHaveStarted: true,
    });
    const reset = failure('ECONNRESET');
    expect(transportError(reset, RUN, 1).detail).toBe(
      "Appliance vc-a closed the connection (ECONNRESET) when asked to run backup schedule default. The backup may have started: check the appliance's backup jobs (GET /appliances/vc-a/backups/jobs, or Appliance Management > Backup) before running it again.",
    );
  });

  it('an answer too large or unreadable is a malformed answer, keeping its cause', () => {
    const tooLarge = failure('UND_ERR_RES_EXCEEDED_MAX_SIZE');
    const error = transportError(tooLarge, READ, 1);
    expect(error.detail).toBe('Appliance vc-a sent a malformed answer when asked to read backup job 1.');
    expect(error.details).toEqual({ appliance: 'vc-a', mayHaveStarted: false, cause: tooLarge });
  });
});

describe('fail-fast refusals say nothing was sent', () => {
  it('an open circuit, in full', () => {
    expect(circuitOpen('vc-a', 5, 12)).toMatchObject({
      code: 'APPLIANCE_UNAVAILABLE',
      detail:
        'Appliance vc-a failed 5 times in a row (connection failures or timeouts); calls fail fast until it is tried again in 12 s. Nothing was sent.',
      details: { appliance: 'vc-a', retryAfter: 12 },
    });
  });

  it('busy connections name the lane and ask for a retry in a second', () => {
    expect(upstreamBusy('vc-a', 'run')).toMatchObject({
      code: 'OVERLOADED',
      detail:
        'Every connection the gateway keeps to appliance vc-a for runs is busy and the queue is full. Nothing was sent; retry shortly.',
      details: { appliance: 'vc-a', retryAfter: 1 },
    });
    expect(upstreamBusy('vc-b', 'read').detail).toBe(
      'Every connection the gateway keeps to appliance vc-b for reads is busy and the queue is full. Nothing was sent; retry shortly.',
    );
  });
});

describe('answer shapes', () => {
  const malformed = expect.objectContaining({ code: 'APPLIANCE_ERROR' });

  it('a record is a non-null, non-array object', () => {
    for (const answer of [null, undefined, 'x', 1, true, [], ['a']]) {
      expect(() => requireRecord(answer, READ)).toThrow(malformed);
    }
    expect(requireRecord({ a: 1 }, READ)).toEqual({ a: 1 });
    expect(requireRecord({}, READ)).toEqual({});
  });

  it('a job status needs a string id and a string state', () => {
    for (const answer of [{ id: 'j', state: 1 }, { id: 'j' }, { state: 'SUCCEEDED' }, { id: 1, state: 'SUCCEEDED' }]) {
      expect(() => requireJobStatus(answer, READ)).toThrow(malformed);
    }
    expect(requireJobStatus({ id: 'j', state: 'SUCCEEDED', progress: 100 }, READ)).toEqual({
      id: 'j',
      state: 'SUCCEEDED',
      progress: 100,
    });
  });

  it('a string list holds strings only; an empty list is a list', () => {
    for (const answer of [null, 'a', { 0: 'a' }, [1], ['a', null]]) {
      expect(() => requireStringList(answer, READ)).toThrow(malformed);
    }
    expect(requireStringList([], READ)).toEqual([]);
  });

  it('a malformed run answer may have started the backup, and says so', () => {
    const error = malformedAnswer(RUN);
    expect(error.details.mayHaveStarted).toBe(true);
    expect(error.detail).toBe(
      "Appliance vc-a sent a malformed answer when asked to run backup schedule default. The backup may have started: check the appliance's backup jobs (GET /appliances/vc-a/backups/jobs, or Appliance Management > Backup) before running it again.",
    );
  });

  it('only a run (startsBackup true) may have started, and only when the failure allows it', () => {
    expect(ifMayHaveStarted(RUN, true).mayHaveStarted).toBe(true);
    expect(ifMayHaveStarted(RUN, false)).toEqual({ hint: '', mayHaveStarted: false });
    expect(ifMayHaveStarted(READ, true)).toEqual({ hint: '', mayHaveStarted: false });
    expect(ifMayHaveStarted({ ...READ, startsBackup: false }, true)).toEqual({ hint: '', mayHaveStarted: false });
  });
});
