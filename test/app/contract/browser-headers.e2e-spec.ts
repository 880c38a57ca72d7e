/**
 * CORS and security headers over real HTTP, as a browser would send them (the browser itself: portal-in-browser
 * and swagger-ui-in-browser e2e specs). Every refusal stays a problem document.
 */
import request from 'supertest';
import { RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';

const PORTAL = 'http://127.0.0.1:4999';
const ELSEWHERE = 'http://127.0.0.1:4998';
const RUN = '/appliances/vc-a/backups/schedules/default/run';

function preflight(world: World, origin: string | undefined, path = RUN) {
  const call = request(world.gateway.url)
    .options(path)
    .set('access-control-request-method', 'POST')
    .set('access-control-request-headers', 'authorization,content-type,idempotency-key');
  return origin === undefined ? call : call.set('origin', origin);
}

function runRequests(world: World): number {
  return world.appliances['vc-a'].requests.filter((r) => r.path.includes('action=run')).length;
}

describe('CORS with cors.origins set', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ extra: { cors: { origins: [PORTAL] } } });
  });
  afterAll(() => world.stop());

  it('answers a preflight from an allowed origin with exactly what portals need, and no credentials', async () => {
    const response = await preflight(world, PORTAL).expect(204);
    expect(response.headers['access-control-allow-origin']).toBe(PORTAL);
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
    expect(response.headers['access-control-allow-methods']).toBe('GET, HEAD, POST');
    expect(response.headers['access-control-allow-headers'].split(', ').sort()).toEqual(
      ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-API-Key', 'X-Request-Id'].sort(),
    );
    expect(response.headers['access-control-max-age']).toBe('600');
    expect(response.headers.vary).toMatch(/Origin/);
    expect(runRequests(world)).toBe(0);
  });

  it('refuses a preflight from another origin with a 403 problem document, never a 500, and runs nothing', async () => {
    const response = await preflight(world, ELSEWHERE).expect(403);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 403, code: 'ORIGIN_NOT_ALLOWED', requestId: expect.any(String) });
    expect(response.body.detail).toContain(ELSEWHERE);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect((await preflight(world, 'null').expect(403)).body.code).toBe('ORIGIN_NOT_ALLOWED');
    expect(runRequests(world)).toBe(0);
  });

  it('serves a request that needs no preflight from another origin, without the CORS headers that would let it read', async () => {
    const token = await world.idp.token(RUN_AND_READ);
    const response = await request(world.gateway.url)
      .get('/appliances')
      .set('origin', ELSEWHERE)
      .set('authorization', `Bearer ${token}`)
      .expect(200);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers['access-control-expose-headers']).toBeUndefined();
    expect(response.headers.vary).toMatch(/Origin/);
  });

  it('lets the allowed origin read answers and problems, with the exposed headers', async () => {
    const token = await world.idp.token(RUN_AND_READ);
    const run = await request(world.gateway.url)
      .post(RUN)
      .set('origin', PORTAL)
      .set('authorization', `Bearer ${token}`)
      .expect(202);
    expect(run.headers['access-control-allow-origin']).toBe(PORTAL);
    expect(run.headers['access-control-expose-headers'].split(', ').sort()).toEqual(
      [
        'Idempotent-Replayed',
        'Location',
        'RateLimit-Limit',
        'RateLimit-Policy',
        'RateLimit-Remaining',
        'RateLimit-Reset',
        'Retry-After',
        'X-Request-Id',
      ].sort(),
    );
    const refused = await request(world.gateway.url).get('/appliances').set('origin', PORTAL).expect(401);
    expect(refused.headers['access-control-allow-origin']).toBe(PORTAL);
    expect(refused.body.code).toBe('UNAUTHENTICATED');
  });

  it('gives another origin no CORS headers, so its browser keeps the answer from the page', async () => {
    const response = await request(world.gateway.url).get('/health/live').set('origin', ELSEWHERE).expect(200);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers['access-control-expose-headers']).toBeUndefined();
  });

  it('answers OPTIONS without an Origin (not a preflight) with a 404 problem document', async () => {
    const response = await preflight(world, undefined).expect(404);
    expect(response.body).toMatchObject({ code: 'NOT_FOUND', requestId: expect.any(String) });
  });
});

describe('CORS with no cors.origins (the default)', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());

  it('refuses every preflight with a 403 problem document and gives no answer a CORS header', async () => {
    for (const origin of [PORTAL, 'null']) {
      const refused = await preflight(world, origin).expect(403);
      expect(refused.body).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED', requestId: expect.any(String) });
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    }
    const token = await world.idp.token(RUN_AND_READ);
    const response = await request(world.gateway.url)
      .get('/appliances')
      .set('origin', PORTAL)
      .set('authorization', `Bearer ${token}`)
      .expect(200);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers['access-control-expose-headers']).toBeUndefined();
    expect(runRequests(world)).toBe(0);
  });

  it('answers OPTIONS without an Origin (not a preflight) with a 405 problem document naming the methods', async () => {
    const response = await preflight(world, undefined).expect(405);
    expect(response.headers.allow).toBe('POST');
    expect(response.body).toMatchObject({ code: 'METHOD_NOT_ALLOWED', requestId: expect.any(String) });
  });
});

describe('security headers', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());

  it('puts a CSP that allows nothing, nosniff, no referrer and no framing on API answers and problems alike', async () => {
    for (const response of [
      await request(world.gateway.url).get('/health/live').expect(200),
      await request(world.gateway.url).get('/appliances').expect(401),
      await request(world.gateway.url).get('/nowhere').expect(404),
    ]) {
      expect(response.headers['content-security-policy']).toBe(
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      );
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(response.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
    }
  });

  it("gives Swagger UI a policy of its own: this origin only, no inline script, the page's own inline styles by hash", async () => {
    const page = await request(world.gateway.url).get('/docs').expect(200);
    const policy = page.headers['content-security-policy'];
    expect(policy).toContain("script-src 'self';");
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    const styleHashes =
      policy
        .match(/style-src 'self'((?: 'sha256-[^']+')+);/)?.[1]
        .trim()
        .split(' ') ?? [];
    expect(styleHashes.length).toBe((page.text.match(/<style/g) ?? []).length);
    expect(policy).toMatch(/style-src-attr 'unsafe-hashes' 'sha256-[^']+';/);
    expect(policy).toContain("connect-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
  });

  it('with no cors.origins, refuses every preflight and sends no CORS header', async () => {
    expect((await preflight(world, 'http://localhost:3000').expect(403)).body.code).toBe('ORIGIN_NOT_ALLOWED');
    const response = await request(world.gateway.url).get('/health/live').set('origin', 'http://localhost:3000');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});
