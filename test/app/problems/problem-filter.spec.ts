import { PROBLEM_TABLE } from '../../../src/problems/problem-codes.js';
import { type ProbeApp, startProbeApp } from '../../support/probe-app.js';

/** ProblemFilter: every failure leaves as an RFC 9457 document with a stable code, whoever raised it. */
describe('ProblemFilter', () => {
  let probe: ProbeApp;

  beforeAll(async () => {
    probe = await startProbeApp({ apiKeys: [{ id: 'unused', sha256: '0'.repeat(64), scopes: [] }] });
  });
  afterAll(() => probe.close());
  beforeEach(() => {
    probe.logs.length = 0;
  });

  const get = (url: string) => probe.request({ url });

  it('a GatewayError: its status and code, the table’s title, Retry-After, the request id, and a warning logged for 5xx', async () => {
    const response = await get('/fail/gateway?attempt=2');
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.headers['retry-after']).toBe('7');
    const body = response.json();
    expect(body).toEqual({
      type: '/problems/appliance-unavailable',
      title: PROBLEM_TABLE.APPLIANCE_UNAVAILABLE.title,
      status: 503,
      detail: 'Appliance vc-a could not be reached.',
      instance: '/fail/gateway',
      code: 'APPLIANCE_UNAVAILABLE',
      requestId: response.headers['x-request-id'],
      appliance: 'vc-a',
    });
    expect(body.requestId).toEqual(expect.any(String));
    expect(probe.logs).toEqual([
      expect.objectContaining({
        level: 'warn',
        requestId: body.requestId,
        code: 'APPLIANCE_UNAVAILABLE',
        appliance: 'vc-a',
        cause: 'ECONNREFUSED',
        msg: 'Appliance vc-a could not be reached.',
      }),
    ]);
  });

  it('a GatewayError of status 500 is logged too, and one without a cause logs none', async () => {
    const response = await get('/fail/internal');
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ code: 'INTERNAL_ERROR', detail: 'Something we did not expect.' });
    expect(probe.logs).toEqual([expect.objectContaining({ level: 'warn', code: 'INTERNAL_ERROR' })]);
    expect(probe.logs[0]).not.toHaveProperty('cause');
    expect(probe.logs[0]).not.toHaveProperty('appliance');
  });

  it('a 4xx GatewayError is the caller’s business: answered, not logged, no Retry-After unless it has one', async () => {
    const response = await get('/fail/conflict');
    expect(response.statusCode).toBe(409);
    expect(response.headers).not.toHaveProperty('retry-after');
    expect(response.json()).toMatchObject({ code: 'BACKUP_IN_PROGRESS', appliance: 'vc-a' });
    expect(probe.logs).toEqual([]);
  });

  it('an unexpected error is logged with its stack and answered 500 INTERNAL_ERROR, without its internals', async () => {
    const response = await get('/fail/bug');
    expect(response.statusCode).toBe(500);
    const body = response.json();
    expect(body).toMatchObject({
      code: 'INTERNAL_ERROR',
      detail: 'The gateway failed to handle this request; the request id identifies it in our logs.',
    });
    expect(response.body).not.toMatch(/secret internals/);
    expect(probe.logs).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'unhandled error',
        requestId: body.requestId,
        err: expect.objectContaining({ message: expect.stringMatching(/secret internals/) }),
      }),
    ]);
  });

  it.each([
    [400, 'VALIDATION_FAILED', 'framework says 400'],
    [401, 'UNAUTHENTICATED', 'framework says 401'],
    [403, 'FORBIDDEN', 'framework says 403'],
    [404, 'NOT_FOUND', 'No route matches this method and path.'],
    [405, 'METHOD_NOT_ALLOWED', 'framework says 405'],
    [408, 'REQUEST_TIMEOUT', 'framework says 408'],
    [413, 'PAYLOAD_TOO_LARGE', 'The request body exceeds the limit of 16 KiB.'],
    [414, 'URI_TOO_LONG', 'framework says 414'],
    [415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.'],
    [431, 'HEADERS_TOO_LARGE', 'framework says 431'],
    [503, 'SERVICE_UNAVAILABLE', 'framework says 503'],
  ])('a framework error with status %s becomes %s', async (status, code, detail) => {
    const response = await get(`/fail/status/${status}`);
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ status, code, detail });
    expect(probe.logs).toEqual([]);
  });

  it('a framework status without a message takes the title; a status we have no code for is an internal error', async () => {
    expect((await get('/fail/bare-status/400')).json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      detail: PROBLEM_TABLE.VALIDATION_FAILED.title,
    });
    const teapot = await get('/fail/status/418');
    expect(teapot.statusCode).toBe(500);
    expect(teapot.json()).toMatchObject({ code: 'INTERNAL_ERROR' });
    const text = await get('/fail/text-status');
    expect(text.statusCode).toBe(500);
  });

  it('`throw null` is an unexpected error like any other, not a crash of the filter', async () => {
    const response = await get('/fail/null');
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ code: 'INTERNAL_ERROR' });
    // What was thrown is what is logged, by the filter itself (not a TypeError of the filter caught further out).
    expect(probe.logs).toEqual([expect.objectContaining({ level: 'error', msg: 'unhandled error', err: null })]);
  });

  it('only a 401 challenges the caller with WWW-Authenticate', async () => {
    expect((await get('/fail/status/401')).headers['www-authenticate']).toBe('Bearer realm="backup-gateway"');
    for (const path of ['/fail/status/403', '/fail/conflict', '/fail/gateway', '/fail/bug']) {
      expect((await get(path)).headers).not.toHaveProperty('www-authenticate');
    }
  });

  it('a stored problem is replayed verbatim: its status, body and headers, marked Idempotent-Replayed', async () => {
    const response = await get('/fail/stored');
    expect(response.statusCode).toBe(429);
    expect(response.body).toBe('{"code":"RATE_LIMITED","requestId":"first-request"}');
    expect(response.headers).toMatchObject({
      'retry-after': '9',
      'idempotent-replayed': 'true',
      'content-type': 'application/problem+json; charset=utf-8',
    });
    expect(response.headers['x-request-id']).not.toBe('first-request');
    expect(probe.logs).toEqual([]);
  });

  it('errors Nest and Fastify raise themselves: unknown route, wrong content type, broken JSON', async () => {
    const unknown = await get('/no/such/route');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'NOT_FOUND', instance: '/no/such/route' });
    const text = await probe.request({
      method: 'POST',
      url: '/body',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    const broken = await probe.request({
      method: 'POST',
      url: '/body',
      headers: { 'content-type': 'application/json' },
      payload: '{"comment":',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({ code: 'VALIDATION_FAILED', detail: expect.stringMatching(/JSON/) });
  });

  it('`instance` is the path without the query, at most 512 characters of it', async () => {
    const long = `/no/${'a'.repeat(600)}`;
    const response = await get(`${long}?q=1`);
    expect(response.json().instance).toBe(long.slice(0, 512));
  });
});
