import { rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { API_KEY, startWorld, type World } from '../../support/fixture.js';
import { startGateway } from '../../support/gateway.js';
import { tempDir } from '../../support/temp-dir.js';

const LIST = '/appliances';
/** The gateway trusts the test's loopback proxy, so X-Forwarded-For is the client's address. */
const TRUSTED_PROXIES = ['127.0.0.1'];

/**
 * A credential cannot be guessed at line rate: past `auth.failedAttemptsPerMinute` failures an address is answered
 * 429 whatever it sends (the right key included) until its minute ends, other addresses are not affected, and each
 * address's window is one `denied` audit entry with the number of failures.
 */
describe('failed authentications per client address', () => {
  let world: World;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('failed-auth-');
    world = await startWorld({
      extra: {
        trustedProxies: TRUSTED_PROXIES,
        audit: { sqlite: { path: join(dir, 'audit.db') } },
        console: { enabled: true, apiKeyLogin: true },
      },
      configure: (document) => {
        (document.auth as Record<string, unknown>).failedAttemptsPerMinute = 5;
      },
    });
  });
  afterAll(async () => {
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const list = (from: string, headers: Record<string, string>) =>
    request(world.gateway.url).get(LIST).set('x-forwarded-for', from).set(headers);

  it('guesses from one address are refused with 429 after the limit, the right key too; other addresses are served', async () => {
    const guesser = '203.0.113.7';
    for (let i = 0; i < 5; i++) {
      const headers = { 'x-api-key': `bgk_guess_${i}`, 'x-request-id': `guess-${i}`, 'user-agent': 'guesser/1.0' };
      expect((await list(guesser, headers)).status).toBe(401);
    }
    const limited = await list(guesser, { 'x-api-key': API_KEY });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Bearer tokens count against the same address.
    expect((await list(guesser, { authorization: 'Bearer not.a.token' })).status).toBe(429);
    // Another address, and the same IPv4 caller's neighbour, still authenticate.
    expect((await list('203.0.113.8', { 'x-api-key': API_KEY })).status).toBe(200);
    // Requests without credentials are 401, never counted: they guess nothing.
    for (let i = 0; i < 8; i++) expect((await list('203.0.113.9', {})).status).toBe(401);
    expect((await list('203.0.113.9', { 'x-api-key': API_KEY })).status).toBe(200);
  });

  it('an IPv6 host counts per /64: rotating the interface id does not reset the count', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await list(`2001:db8:1:2::${i + 1}`, { 'x-api-key': 'wrong' })).status).toBe(401);
    }
    expect((await list('2001:db8:1:2:ffff::9', { 'x-api-key': API_KEY })).status).toBe(429);
    expect((await list('2001:db8:1:3::1', { 'x-api-key': API_KEY })).status).toBe(200);
  });

  it("the console's API-key sign-in (a public route) counts toward the same limit", async () => {
    const signIn = (from: string, apiKey: string) =>
      request(world.gateway.url)
        .post('/console/api-key-session')
        .set('x-forwarded-for', from)
        .set('x-console-request', '1')
        .set('origin', world.gateway.url)
        .send({ apiKey });
    for (let i = 0; i < 5; i++) expect((await signIn('198.51.100.4', `bgk_guess_console_${i}`)).status).toBe(401);
    const limited = await signIn('198.51.100.4', API_KEY);
    expect(limited.status).toBe(429);
    expect(limited.headers['set-cookie']).toBeUndefined();
    // The header and the console count together: the address is refused on the API as well.
    expect((await list('198.51.100.4', { 'x-api-key': API_KEY })).status).toBe(429);
    expect((await signIn('198.51.100.5', API_KEY)).status).toBe(200);
  });

  it('each address window is one denied entry with the number of failures (written at shutdown at the latest)', async () => {
    const config = JSON.parse(JSON.stringify(world.gateway.config));
    await world.gateway.close();
    const reader = await startGateway(config, {});
    try {
      const token = await world.idp.token({ sub: 'auditor', scope: 'audit:read' });
      const response = await request(reader.url)
        .get('/audit/events?outcome=denied&limit=100')
        .set('authorization', `Bearer ${token}`)
        .expect(200);
      const failures = response.body.items.filter((e: { action: string }) => e.action === 'auth.authenticate');
      const byAddress = Object.fromEntries(
        failures.map((e: { actor: { ip: string }; count: number }) => [e.actor.ip, e]),
      );
      expect(Object.keys(byAddress).sort()).toEqual(['198.51.100.4', '2001:db8:1:2::/64', '203.0.113.7']);
      expect(byAddress['203.0.113.7']).toMatchObject({
        stage: 'completed',
        outcome: 'denied',
        count: 5,
        httpStatus: 401,
        code: 'UNAUTHENTICATED',
        actor: { subject: 'unauthenticated', authMethod: 'apiKey', userAgent: 'guesser/1.0' },
        // The window's first failure names it.
        requestId: 'guess-0',
      });
      expect(JSON.stringify(failures)).not.toContain('bgk_guess');
    } finally {
      await reader.close();
    }
  });
});
