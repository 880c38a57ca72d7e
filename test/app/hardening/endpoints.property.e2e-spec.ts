import fc from 'fast-check';
import { auditClient } from '../../support/audit-client.js';
import { API_KEY, startWorld, type World } from '../../support/fixture.js';

/**
 * Every endpoint, with arbitrary path parameters, query strings, headers and bodies (random text, Unicode, control
 * characters, lone surrogates, huge numbers, deep nesting, prototype keys): every answer is a success or a
 * well-formed problem document, never a 500; input we refuse never reaches an appliance; and afterwards the audit
 * chain verifies and the gateway is still ready.
 */
describe('every endpoint under arbitrary input', () => {
  let world: World;
  let token: string;
  beforeAll(async () => {
    world = await startWorld({
      // Arbitrary credentials from one address would trip the limit on failed authentications (its own test:
      // failed-authentications.e2e-spec.ts) and turn every later answer into a 429.
      configure: (document) => {
        (document.auth as Record<string, unknown>).failedAttemptsPerMinute = 0;
        // The appliances' request counters tell whether a refused request reached them: background probes would add
        // to them at any moment (one did, between a request's before and after, in a CI run of 2026-12-06).
        document.fleet = { ...(document.fleet as Record<string, unknown> | undefined), backgroundProbes: false };
      },
    });
    token = await world.idp.token({ sub: 'fuzzer', scope: 'backups:run backups:read audit:read' });
  });
  afterAll(() => world.stop());

  const upstreamRequests = () => Object.values(world.appliances).reduce((n, sim) => n + sim.counters.requests, 0);

  /** Text of every kind, lone surrogates and NUL included. */
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.constantFrom(
      '\uD800',
      'a\uDC00b',
      '\u0000',
      '🙂'.repeat(600),
      'x'.repeat(2000),
      '../../etc',
      '%00',
      '%',
      '?a=b#c',
    ),
  );
  const id = fc.oneof(fc.constantFrom('vc-a', 'vc-b', 'default', 'nope', '20261126-120000-00000001'), text);
  const key = fc.oneof(
    fc.constantFrom('constructor', 'prototype', '__proto__', 'limit', 'tag', 'appliance', 'comment', 'cursor', 'since'),
    fc.string({ maxLength: 10 }),
  );
  const scalar = fc.oneof(
    text,
    fc.integer(),
    fc.double(),
    fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, true, null),
  );
  const nested = fc
    .integer({ min: 1, max: 4000 })
    .map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`));
  const bodyValue = fc.oneof(scalar, fc.jsonValue({ maxDepth: 4 }), nested);
  const body = fc.oneof(
    fc.constant(undefined),
    fc.dictionary(key, bodyValue, { maxKeys: 4 }).map((o) => JSON.stringify(o)),
    fc.record({ comment: text }).map((o) => JSON.stringify(o)),
    fc.record({ schedule: id, appliances: fc.array(id, { maxLength: 3 }) }).map((o) => JSON.stringify(o)),
    fc.record({ schedule: id, tags: fc.array(text, { maxLength: 3 }) }).map((o) => JSON.stringify(o)),
    bodyValue.map((v) => JSON.stringify(v) ?? 'null'),
    text, // not JSON at all
    fc.constant('{"__proto__":{"polluted":true}}'),
  );
  const query = fc.dictionary(key, fc.oneof(text, fc.integer().map(String)), { maxKeys: 3 });
  /** Header values must be latin1 without CR/LF to be sent at all; anything else is the client library's refusal. */
  const headerText = fc.string({
    unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
    maxLength: 300,
  });
  const credentials = fc.constantFrom('token', 'apiKey', 'none', 'garbage');

  const routes = [
    { method: 'POST', path: ([a, s]: string[]) => `/appliances/${a}/backups/schedules/${s}/run` },
    { method: 'POST', path: ([, s]: string[]) => `/backups/schedules/${s}/run` },
    { method: 'POST', path: () => '/backups/runs' },
    { method: 'GET', path: ([a]: string[]) => `/appliances/${a}/backups/jobs` },
    { method: 'GET', path: ([a, , j]: string[]) => `/appliances/${a}/backups/jobs/${j}` },
    { method: 'GET', path: ([a]: string[]) => `/appliances/${a}/backups/schedules` },
    { method: 'GET', path: () => '/appliances' },
    { method: 'GET', path: () => '/audit/events' },
    { method: 'GET', path: () => '/audit/verify' },
  ];

  it('answers every request with a success or a problem document, never a 500, and sends nothing upstream for what it refuses', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.tuple(id, id, id),
        fc.boolean(),
        query,
        body,
        fc.record({ requestId: fc.option(headerText), userAgent: fc.option(headerText), credentials }),
        async (route, ids, encode, params, payload, headers) => {
          // Encoded, or sent as typed (fetch encodes what it must; malformed %-sequences go through as they are).
          const segments = ids.map((s) => (encode ? encodeURIComponent(s.toWellFormed()) : s.replace(/[/?#\s]/g, '_')));
          const search = new URLSearchParams(params).toString();
          const url = `${world.gateway.url}${route.path(segments)}${search ? `?${search}` : ''}`;
          const sent: Record<string, string> = {};
          if (headers.credentials === 'token') sent.authorization = `Bearer ${token}`;
          if (headers.credentials === 'apiKey') sent['x-api-key'] = API_KEY;
          if (headers.credentials === 'garbage') sent.authorization = 'Bearer x.y.z';
          if (headers.requestId !== null) sent['x-request-id'] = headers.requestId;
          if (headers.userAgent !== null) sent['user-agent'] = headers.userAgent;
          if (payload !== undefined) sent['content-type'] = 'application/json';
          const before = upstreamRequests();
          let response: Response;
          try {
            response = await fetch(url, {
              method: route.method,
              headers: sent,
              body: route.method === 'POST' ? payload : undefined,
            });
          } catch (error) {
            // The client refused to send it (an invalid header value or URL); nothing reached the gateway to judge.
            if ((error as Error).message === 'fetch failed' || (error as Error).name === 'TypeError') return;
            throw error;
          }
          const answer = await response.text();
          for (const sim of Object.values(world.appliances)) sim.finishRunningJobs();
          expect(response.status).not.toBe(500);
          expect(response.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
          if (response.status >= 400) {
            expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
            const problem = JSON.parse(answer);
            expect(problem).toMatchObject({
              status: response.status,
              code: expect.any(String),
              requestId: expect.any(String),
            });
            // Refused by the gateway itself (a 404 may also be the appliance's: no such schedule or job).
            const ours =
              [400, 401, 403, 413, 414, 415].includes(response.status) ||
              ['NOT_FOUND', 'APPLIANCE_NOT_FOUND'].includes(problem.code);
            if (ours) expect(upstreamRequests()).toBe(before);
          }
        },
      ),
      { numRuns: 400 },
    );
    const audit = auditClient(world.gateway.url, `Bearer ${token}`);
    expect(await audit.verify()).toMatchObject({ ok: true });
    expect((await fetch(`${world.gateway.url}/health/ready`)).status).toBe(200);
  });
});
