import { classifyVapiError, summarizeUpstream, vapiErrorToGatewayError } from '../../../src/problems/vapi-error-map.js';

describe('vAPI error → problem code', () => {
  it.each([
    // [HTTP status, error_type, code] — error_type decides first, as several meanings share 400; NOT_FOUND is the
    // operation's own "not found" (a job read here).
    [400, 'FEATURE_IN_USE', 'BACKUP_IN_PROGRESS'],
    [400, 'INVALID_ARGUMENT', 'APPLIANCE_REJECTED'],
    [400, 'ALREADY_EXISTS', 'APPLIANCE_REJECTED'],
    [400, 'NOT_ALLOWED_IN_CURRENT_STATE', 'APPLIANCE_REJECTED'],
    [400, 'UNSUPPORTED', 'APPLIANCE_REJECTED'],
    [409, 'CONCURRENT_CHANGE', 'APPLIANCE_REJECTED'],
    [404, 'NOT_FOUND', 'JOB_NOT_FOUND'],
    [401, 'UNAUTHENTICATED', 'APPLIANCE_AUTH_FAILED'],
    [403, 'UNAUTHORIZED', 'APPLIANCE_PERMISSION_DENIED'],
    [503, 'SERVICE_UNAVAILABLE', 'APPLIANCE_UNAVAILABLE'],
    [504, 'TIMED_OUT', 'APPLIANCE_TIMEOUT'],
    [500, 'TIMED_OUT', 'APPLIANCE_TIMEOUT'],
    [500, 'ERROR', 'APPLIANCE_ERROR'],
    [500, 'INTERNAL_SERVER_ERROR', 'APPLIANCE_ERROR'],
    [500, 'RESOURCE_BUSY', 'APPLIANCE_ERROR'],
    [404, 'OPERATION_NOT_FOUND', 'APPLIANCE_ERROR'],
    // Old appliances without error_type: the status decides.
    [400, undefined, 'APPLIANCE_REJECTED'],
    [401, undefined, 'APPLIANCE_AUTH_FAILED'],
    [403, undefined, 'APPLIANCE_PERMISSION_DENIED'],
    [404, undefined, 'JOB_NOT_FOUND'],
    [500, undefined, 'APPLIANCE_ERROR'],
    [502, undefined, 'APPLIANCE_ERROR'],
    [503, undefined, 'APPLIANCE_UNAVAILABLE'],
    [504, undefined, 'APPLIANCE_TIMEOUT'],
    [302, undefined, 'APPLIANCE_ERROR'],
  ])('HTTP %s %s → %s', (status, errorType, code) => {
    expect(classifyVapiError(status, errorType, 'JOB_NOT_FOUND')).toBe(code);
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'an error_type named like an Object property (%s) is just an unknown type, not a crash',
    (errorType) => {
      expect(classifyVapiError(400, errorType, 'JOB_NOT_FOUND')).toBe('APPLIANCE_REJECTED');
      expect(classifyVapiError(500, errorType, 'JOB_NOT_FOUND')).toBe('APPLIANCE_ERROR');
      const error = vapiErrorToGatewayError(
        409,
        { error_type: errorType, messages: [] },
        { appliance: 'vc-a', description: 'read backup job 1', notFound: 'JOB_NOT_FOUND' },
      );
      expect(error).toMatchObject({ code: 'APPLIANCE_REJECTED', status: 422, details: { upstream: { errorType } } });
    },
  );

  it('resolves NOT_FOUND per operation and keeps only id, message and args of the message stack', () => {
    const body = {
      error_type: 'NOT_FOUND',
      messages: [
        {
          id: 'com.vmware.x',
          default_message: 'Schedule nightly not found',
          args: ['nightly'],
          params: { secret: 'no' },
          localized: 'x',
        },
      ],
      data: { internal: true },
    };
    const error = vapiErrorToGatewayError(404, body, {
      appliance: 'vc-a',
      description: 'run backup schedule nightly',
      notFound: 'SCHEDULE_NOT_FOUND',
    });
    expect(error.code).toBe('SCHEDULE_NOT_FOUND');
    expect(error.status).toBe(404);
    expect(error.details.upstream).toEqual({
      status: 404,
      errorType: 'NOT_FOUND',
      messages: [{ id: 'com.vmware.x', message: 'Schedule nightly not found', args: ['nightly'] }],
    });
    expect(error.detail).toBe('Appliance vc-a refused to run backup schedule nightly: Schedule nightly not found');
  });

  it('without a message, the detail names the HTTP status and the error type', () => {
    const read = { appliance: 'vc-a', description: 'read backup job 1', notFound: 'JOB_NOT_FOUND' as const };
    expect(vapiErrorToGatewayError(503, { error_type: 'SERVICE_UNAVAILABLE', messages: [] }, read).detail).toBe(
      'Appliance vc-a refused to read backup job 1 (HTTP 503 SERVICE_UNAVAILABLE)',
    );
    expect(vapiErrorToGatewayError(500, undefined, read).detail).toBe(
      'Appliance vc-a refused to read backup job 1 (HTTP 500)',
    );
  });

  it('keeps only well-formed messages of the stack, each member as text', () => {
    const body = {
      messages: [null, 'text', { id: 1, default_message: 2, args: [1, true, 'x'] }, { id: 'a', args: 'no' }],
    };
    expect(summarizeUpstream(400, body)).toEqual({
      status: 400,
      errorType: undefined,
      messages: [
        { id: '', message: '', args: ['1', 'true', 'x'] },
        { id: 'a', message: '', args: [] },
      ],
    });
    expect(summarizeUpstream(502, ['not', 'a', 'record'])).toEqual({ status: 502, errorType: undefined, messages: [] });
    expect(summarizeUpstream(400, { error_type: 7, messages: 'x' })).toEqual({
      status: 400,
      errorType: undefined,
      messages: [],
    });
  });

  it('suggests Retry-After (30 s) for an unavailable appliance, and for nothing else', () => {
    const read = { appliance: 'a', description: 'x', notFound: 'JOB_NOT_FOUND' as const };
    expect(vapiErrorToGatewayError(503, {}, read).details.retryAfter).toBe(30);
    expect(vapiErrorToGatewayError(500, {}, read).details.retryAfter).toBeUndefined();
    expect(vapiErrorToGatewayError(400, { error_type: 'FEATURE_IN_USE' }, read).details.retryAfter).toBeUndefined();
  });

  it('suggests Retry-After for an unavailable appliance', () => {
    const error = vapiErrorToGatewayError(
      503,
      { error_type: 'SERVICE_UNAVAILABLE', messages: [] },
      { appliance: 'a', description: 'x', notFound: 'JOB_NOT_FOUND' },
    );
    expect(error.details.retryAfter).toBeGreaterThan(0);
  });
});

describe('typed and untyped error answers to a run', () => {
  const run = {
    appliance: 'vc-a',
    description: 'run backup schedule default',
    notFound: 'SCHEDULE_NOT_FOUND' as const,
    startsBackup: true,
  };

  it.each([
    ['an HTML page from a proxy', 502, '<html>Bad Gateway</html>', true],
    ['no body', 504, undefined, true],
    ['a JSON object that is not a vAPI error', 500, { oops: true }, true],
    ['a vAPI error', 500, { error_type: 'ERROR', messages: [] }, false],
    ['a vAPI error with its type and no message stack', 400, { error_type: 'INVALID_ARGUMENT' }, false],
    ['a JSON object whose error_type is no string', 500, { error_type: 7 }, true],
    ['an old vAPI error without error_type', 400, { messages: [{ id: 'x', default_message: 'no' }] }, false],
  ])('%s: may have started = %s', (_name, status, body, mayHaveStarted) => {
    const error = vapiErrorToGatewayError(status as number, body, run);
    expect(error.details.mayHaveStarted).toBe(mayHaveStarted);
    expect(/may have started/.test(error.detail)).toBe(mayHaveStarted);
  });

  it('an untyped answer to a read never says a backup may have started', () => {
    const read = { appliance: 'vc-a', description: 'read backup job 1', notFound: 'JOB_NOT_FOUND' as const };
    expect(vapiErrorToGatewayError(502, '<html/>', read).details.mayHaveStarted).toBe(false);
  });
});

describe('the edges of the vAPI error table', () => {
  const read = { appliance: 'vc-a', description: 'read backup job 1', notFound: 'JOB_NOT_FOUND' as const };

  it.each([
    // An unknown error_type is a refusal only on a 4xx; otherwise the status decides.
    [399, 'SOMETHING_NEW', 'APPLIANCE_ERROR'],
    [400, 'SOMETHING_NEW', 'APPLIANCE_REJECTED'],
    [499, 'SOMETHING_NEW', 'APPLIANCE_REJECTED'],
    [500, 'SOMETHING_NEW', 'APPLIANCE_ERROR'],
    [503, 'SOMETHING_NEW', 'APPLIANCE_UNAVAILABLE'],
    [504, 'SOMETHING_NEW', 'APPLIANCE_TIMEOUT'],
    [404, 'SOMETHING_NEW', 'APPLIANCE_REJECTED'],
    [399, undefined, 'APPLIANCE_ERROR'],
    [499, undefined, 'APPLIANCE_REJECTED'],
    [409, undefined, 'APPLIANCE_REJECTED'],
    [501, undefined, 'APPLIANCE_ERROR'],
    // A known type decides whatever the status.
    [200, 'NOT_FOUND', 'SCHEDULE_NOT_FOUND'],
    [500, 'UNAUTHENTICATED', 'APPLIANCE_AUTH_FAILED'],
    [500, 'UNAUTHORIZED', 'APPLIANCE_PERMISSION_DENIED'],
    [500, 'FEATURE_IN_USE', 'BACKUP_IN_PROGRESS'],
    [400, 'SERVICE_UNAVAILABLE', 'APPLIANCE_UNAVAILABLE'],
    [400, 'ERROR', 'APPLIANCE_ERROR'],
    [400, 'INTERNAL_SERVER_ERROR', 'APPLIANCE_ERROR'],
  ])('HTTP %s %s → %s (schedule run)', (status, errorType, code) => {
    expect(classifyVapiError(status, errorType, 'SCHEDULE_NOT_FOUND')).toBe(code);
  });

  it('a vCenter at its session limit says so, whatever else it said', () => {
    const error = vapiErrorToGatewayError(
      503,
      {
        error_type: 'SERVICE_UNAVAILABLE',
        messages: [
          { id: 'other', default_message: 'first' },
          { id: 'com.vmware.vapi.endpoint.failedToLoginMaxUserSessionCountReached', default_message: 'limit' },
        ],
      },
      read,
    );
    expect(error.code).toBe('APPLIANCE_UNAVAILABLE');
    expect(error.detail).toBe(
      'Appliance vc-a has reached its limit of concurrent API sessions; other tools are holding sessions open. Retry later or ask its administrator to end idle sessions.',
    );
    expect(error.details).toMatchObject({ appliance: 'vc-a', retryAfter: 30, mayHaveStarted: false });
  });

  it('an empty first message is no message: the detail names the status', () => {
    expect(vapiErrorToGatewayError(500, { messages: [{ id: 'x', default_message: '' }] }, read).detail).toBe(
      'Appliance vc-a refused to read backup job 1 (HTTP 500)',
    );
    expect(vapiErrorToGatewayError(400, { error_type: '', messages: [] }, read).detail).toBe(
      'Appliance vc-a refused to read backup job 1 (HTTP 400)',
    );
  });

  it('every text from the appliance is bounded: type 100, id 200, message 1000, each argument 200 units', () => {
    const summary = summarizeUpstream(400, {
      error_type: 'T'.repeat(150),
      messages: [{ id: 'i'.repeat(250), default_message: 'm'.repeat(1200), args: ['a'.repeat(300), { k: 'v' }] }],
    });
    expect(summary.errorType).toBe('T'.repeat(100));
    expect(summary.messages).toEqual([
      { id: 'i'.repeat(200), message: 'm'.repeat(1000), args: ['a'.repeat(200), '{"k":"v"}'] },
    ]);
  });

  it('control characters become U+FFFD, so nothing from the appliance drives a terminal', () => {
    const summary = summarizeUpstream(400, {
      error_type: 'A\u0000B',
      messages: [{ id: '\u001b[31m', default_message: 'x\u007fy\nz\u001fw', args: ['\t'] }],
    });
    expect(summary.errorType).toBe('A\uFFFDB');
    expect(summary.messages).toEqual([{ id: '\uFFFD[31m', message: 'x\uFFFDy\uFFFDz\uFFFDw', args: ['\uFFFD'] }]);
  });

  it('at most ten messages, each with at most ten arguments', () => {
    const messages = Array.from({ length: 12 }, (_, i) => ({
      id: `m${i}`,
      default_message: `message ${i}`,
      args: Array.from({ length: 12 }, (_, j) => `${j}`),
    }));
    const summary = summarizeUpstream(400, { messages });
    expect(summary.messages.map((m) => m.id)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    for (const message of summary.messages) {
      expect(message.args).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    }
  });
});
