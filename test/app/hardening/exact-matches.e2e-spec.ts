/**
 * Checks that must match exactly, each against the near miss a prefix match or a shortened comparison would let
 * through: API key digests, appliance scopes, CORS origins, and Swagger UI's Content-Security-Policy.
 */
import { createHash } from 'node:crypto';
import request from 'supertest';
import { ApiKeyStrategy } from '../../../src/auth/api-key.strategy.js';
import type { Principal } from '../../../src/auth/principal.js';
import { mayUseAppliance } from '../../../src/auth/scopes.js';
import type { ApiKeyConfig } from '../../../src/config/gateway-config.js';
import { startWorld, type World } from '../../support/fixture.js';

const PORTAL = 'https://portal.example.test';
const RUN = '/appliances/vc-a/backups/schedules/default/run';

describe('API key digests are compared whole', () => {
  const KEY = 'bgk_exact_0123456789abcdef0123456789abcdef';
  const digest = createHash('sha256').update(KEY, 'utf8').digest('hex');
  /** The digest with one byte changed: 31 of 32 bytes still match. */
  const withByte = (index: number) => {
    const bytes = Buffer.from(digest, 'hex');
    bytes[index] ^= 0xff;
    return bytes.toString('hex');
  };
  const strategy = (sha256: string) =>
    new ApiKeyStrategy([{ id: 'cron', sha256, scopes: ['backups:run'] } as ApiKeyConfig]);

  it('the key matches its own digest (or the refusals below would prove nothing)', () => {
    const principal = strategy(digest).validate(KEY);
    expect(principal).not.toBe(false);
    expect([...(principal as Principal).scopes]).toEqual(['backups:run']);
  });

  it.each([
    ['its last byte', 31],
    ['a byte of its second half', 16],
    ['its first byte', 0],
  ])('a configured digest differing only in %s does not match', (_name, index) => {
    expect(strategy(withByte(index)).validate(KEY)).toBe(false);
  });
});

describe('appliance scopes name one appliance exactly', () => {
  const principal = (...scopes: string[]) => ({ scopes: new Set(scopes) }) as unknown as Principal;

  it('`{family}:vc-a2` covers neither vc-a nor vc-a-anything; `{family}:vc-a` covers vc-a', () => {
    for (const family of ['backups:run', 'backups:read', 'audit:read'] as const) {
      expect(mayUseAppliance(principal(`${family}:vc-a2`), family, 'vc-a')).toBe(false);
      expect(mayUseAppliance(principal(`${family}:vc-a.prod`), family, 'vc-a')).toBe(false);
      expect(mayUseAppliance(principal(`${family}:vc-a:x`), family, 'vc-a')).toBe(false);
      expect(mayUseAppliance(principal(`${family}:vc-`), family, 'vc-a')).toBe(false);
      expect(mayUseAppliance(principal(`${family}x`), family, 'vc-a')).toBe(false);
      expect(mayUseAppliance(principal(`${family}:vc-a`), family, 'vc-a')).toBe(true);
    }
  });
});

describe('over HTTP', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ extra: { cors: { origins: [PORTAL] } } });
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    for (const sim of Object.values(world.appliances)) sim.resetCounters();
  });

  const bearer = async (scope: string) => `Bearer ${await world.idp.token({ scope })}`;

  describe('a scope for appliance vc-a2 gives nothing on appliance vc-a', () => {
    it('no run: 403, and nothing reaches vc-a', async () => {
      const response = await request(world.gateway.url)
        .post(RUN)
        .set('authorization', await bearer('backups:run:vc-a2 backups:read:vc-a2'))
        .send({});
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('FORBIDDEN');
      expect(world.appliances['vc-a'].counters.requests).toBe(0);
    });

    it('no read: 403 on its schedules and jobs, and vc-a is not listed', async () => {
      const auth = await bearer('backups:read:vc-a2');
      for (const path of ['/appliances/vc-a/backups/schedules', '/appliances/vc-a/backups/jobs']) {
        const response = await request(world.gateway.url).get(path).set('authorization', auth);
        expect(response.status).toBe(403);
      }
      const list = await request(world.gateway.url).get('/appliances').set('authorization', auth).expect(200);
      expect(list.body.items).toEqual([]);
      expect(world.appliances['vc-a'].counters.requests).toBe(0);
    });

    it('no audit: 403 on vc-a entries', async () => {
      const response = await request(world.gateway.url)
        .get('/audit/events?appliance=vc-a')
        .set('authorization', await bearer('audit:read:vc-a2'));
      expect(response.status).toBe(403);
    });

    it('while the scope for vc-a itself runs there (the refusals above were the scope)', async () => {
      const response = await request(world.gateway.url)
        .post(RUN)
        .set('authorization', await bearer('backups:run:vc-a'))
        .send({});
      expect(response.status).toBe(202);
      world.appliances['vc-a'].finishRunningJobs();
    });
  });

  describe(`CORS allows ${PORTAL} exactly`, () => {
    const preflight = (origin: string) =>
      request(world.gateway.url)
        .options(RUN)
        .set('origin', origin)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization,content-type');

    it.each([
      `${PORTAL}.evil.example`,
      `${PORTAL}evil.example`,
      `${PORTAL}:8443`,
      `${PORTAL}/`,
      'https://portal.example.tes',
      'http://portal.example.test',
    ])('%s: its preflight is a 403, and its simple requests get no CORS header', async (origin) => {
      const refused = await preflight(origin);
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('ORIGIN_NOT_ALLOWED');
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
      const simple = await request(world.gateway.url).get('/health/live').set('origin', origin).expect(200);
      expect(simple.headers['access-control-allow-origin']).toBeUndefined();
      expect(simple.headers['access-control-expose-headers']).toBeUndefined();
    });

    it('the portal itself is allowed (the refusals above were the origin)', async () => {
      const allowed = await preflight(PORTAL).expect(204);
      expect(allowed.headers['access-control-allow-origin']).toBe(PORTAL);
      const simple = await request(world.gateway.url).get('/health/live').set('origin', PORTAL).expect(200);
      expect(simple.headers['access-control-allow-origin']).toBe(PORTAL);
    });
  });

  it("Swagger UI's page allows nothing by default: default-src 'none', whatever else it allows", async () => {
    const page = await request(world.gateway.url).get('/docs').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const directives = (page.headers['content-security-policy'] as string).split(/;\s*/);
    expect(directives.filter((d) => d.startsWith('default-src'))).toEqual(["default-src 'none'"]);
    expect(directives).toEqual(
      expect.arrayContaining(["script-src 'self'", "base-uri 'none'", "frame-ancestors 'none'"]),
    );
  });
});
