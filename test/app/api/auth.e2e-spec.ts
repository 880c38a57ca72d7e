import { generateKeyPairSync } from 'node:crypto';
import { jest } from '@jest/globals';
import { SignJWT } from 'jose';
import request from 'supertest';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import {
  API_KEY,
  APPLIANCE_PASSWORD,
  APPLIANCE_USER,
  READ_ONLY_API_KEY,
  RUN_AND_READ,
  startWorld,
  World,
} from '../../support/fixture.js';
import { startGateway } from '../../support/gateway.js';
import { AUDIENCE, IdentityProvider, sha256Hex } from '../../support/identity-provider.js';
import { tempDir } from '../../support/temp-dir.js';

const RUN = '/appliances/vc-a/backups/schedules/default/run';

describe('caller authentication and scopes (JWKS)', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());
  afterEach(() => {
    world.appliances['vc-a'].finishRunningJobs();
    world.appliances['vc-b'].finishRunningJobs();
  });

  async function expectUnauthenticated(headers: Record<string, string>) {
    const before = world.appliances['vc-a'].counters.runs;
    const response = await request(world.gateway.url).post(RUN).set(headers).send({});
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('UNAUTHENTICATED');
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="backup-gateway"/);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(world.appliances['vc-a'].counters.runs).toBe(before);
    return response;
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('accepts RS256, PS256 and ES256 access tokens with typ at+jwt, scopes from `scope` or `scp`', async () => {
    for (const alg of ['RS256', 'PS256', 'ES256']) {
      const token = await world.idp.token(RUN_AND_READ, { alg });
      await request(world.gateway.url).post(RUN).set(bearer(token)).expect(202);
      world.appliances['vc-a'].finishRunningJobs();
    }
    const scp = await world.idp.token({ scp: ['backups:run'] }, { typ: 'JWT' });
    await request(world.gateway.url).post(RUN).set(bearer(scp)).expect(202);
  });

  it('refuses a request without credentials, with WWW-Authenticate: Bearer', async () => {
    const response = await expectUnauthenticated({});
    expect(response.headers['www-authenticate']).toBe('Bearer realm="backup-gateway"');
  });

  it('refuses a token signed by a key the provider never published', async () => {
    const forged = await world.idp.token(RUN_AND_READ, { key: world.idp.rogue });
    const response = await expectUnauthenticated(bearer(forged));
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('refuses alg none', async () => {
    await expectUnauthenticated(bearer(world.idp.unsignedToken(RUN_AND_READ)));
  });

  it('refuses HS256 when no shared secret is configured, even keyed with the public key (algorithm confusion)', async () => {
    const publicPem = world.idp.keys[0].publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const now = Math.floor(Date.now() / 1000);
    const confused = await new SignJWT({ scope: 'backups:run' })
      .setProtectedHeader({ alg: 'HS256', kid: 'rs-1' })
      .setIssuer(world.idp.issuer)
      .setAudience(AUDIENCE)
      .setSubject('mallory')
      .setExpirationTime(now + 300)
      .sign(new TextEncoder().encode(publicPem));
    await expectUnauthenticated(bearer(confused));
  });

  it('refuses expired, not-yet-valid, wrong-audience and wrong-issuer tokens', async () => {
    await expectUnauthenticated(bearer(await world.idp.token(RUN_AND_READ, { expiresInSeconds: -120 })));
    await expectUnauthenticated(bearer(await world.idp.token(RUN_AND_READ, { notBeforeSeconds: 600 })));
    await expectUnauthenticated(bearer(await world.idp.token(RUN_AND_READ, { audience: 'urn:someone-else' })));
    await expectUnauthenticated(bearer(await world.idp.token(RUN_AND_READ, { issuer: 'https://evil.example' })));
    await expectUnauthenticated(bearer('not.a.jwt'));
    await expectUnauthenticated({ authorization: 'Basic YWRtaW46YWRtaW4=' });
  });

  it('tolerates clock skew within clockToleranceSeconds (30 s by default)', async () => {
    const justExpired = await world.idp.token(RUN_AND_READ, { expiresInSeconds: -10 });
    await request(world.gateway.url).post(RUN).set(bearer(justExpired)).expect(202);
  });

  it('verifies a reused token once: its later requests are answered from the verified-token cache', async () => {
    // Observed, not mocked: the spy counts the signature checks jose asks WebCrypto for and still runs every one.
    const verifications = jest.spyOn(globalThis.crypto.subtle, 'verify');
    try {
      const token = await world.idp.token({ scope: 'backups:read' });
      for (let i = 0; i < 3; i++) await request(world.gateway.url).get('/appliances').set(bearer(token)).expect(200);
      expect(verifications).toHaveBeenCalledTimes(1);
      const other = await world.idp.token({ scope: 'backups:read' });
      await request(world.gateway.url).get('/appliances').set(bearer(other)).expect(200);
      expect(verifications).toHaveBeenCalledTimes(2);
    } finally {
      verifications.mockRestore();
    }
  });

  it('remembers a verified token only until it expires, and never for a token with other bytes', async () => {
    // Signed just after a second starts and expired 29 s before it: valid for about 1 s more under the 30 s clock
    // tolerance (token times are whole seconds), then refused although it verified and was cached.
    await new Promise((resolve) => setTimeout(resolve, 1020 - (Date.now() % 1000)));
    const expiring = await world.idp.token(RUN_AND_READ, { expiresInSeconds: -29 });
    const refusedFrom = (Math.floor(Date.now() / 1000) + 1) * 1000;
    await request(world.gateway.url).post(RUN).set(bearer(expiring)).expect(202);
    world.appliances['vc-a'].finishRunningJobs();
    const [header, payload, signature] = expiring.split('.');
    const flipped = `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    await expectUnauthenticated(bearer(`${header}.${payload}.${flipped}`));
    await new Promise((resolve) => setTimeout(resolve, refusedFrom - Date.now() + 20));
    await expectUnauthenticated(bearer(expiring));
  });

  it('answers 403 FORBIDDEN for a valid token without the scope, and sends nothing', async () => {
    const readOnly = await world.idp.token({ scope: 'backups:read' });
    const before = world.appliances['vc-a'].counters.requests;
    const response = await request(world.gateway.url).post(RUN).set(bearer(readOnly)).expect(403);
    expect(response.body).toMatchObject({ code: 'FORBIDDEN', appliance: 'vc-a' });
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(world.appliances['vc-a'].counters.requests).toBe(before);
    const none = await world.idp.token({});
    await request(world.gateway.url).get('/appliances').set(bearer(none)).expect(403);
  });

  it('limits an appliance-scoped token to its appliance, on both route forms', async () => {
    const onlyB = await world.idp.token({ scope: 'backups:run:vc-b backups:read:vc-b' });
    await request(world.gateway.url).post(RUN).set(bearer(onlyB)).expect(403);
    await request(world.gateway.url).post('/backups/schedules/default/run').set(bearer(onlyB)).expect(403);
    await request(world.gateway.url)
      .post('/appliances/vc-b/backups/schedules/default/run')
      .set(bearer(onlyB))
      .expect(202);
    await request(world.gateway.url)
      .post('/backups/schedules/default/run?appliance=vc-b')
      .set(bearer(onlyB))
      .expect(409);
    await request(world.gateway.url)
      .get('/appliances/vc-a/backups/jobs/20260101-000000-1')
      .set(bearer(onlyB))
      .expect(403);
    // A scope for another appliance does not reveal whether an appliance exists.
    await request(world.gateway.url)
      .post('/appliances/nope/backups/schedules/default/run')
      .set(bearer(onlyB))
      .expect(403);
    const runOnly = await world.idp.token({ scope: 'backups:run:vc-b' });
    await request(world.gateway.url).get('/appliances').set(bearer(runOnly)).expect(403);
  });

  it('authenticates API keys by their SHA-256 and applies their scopes', async () => {
    const response = await request(world.gateway.url).post(RUN).set('x-api-key', API_KEY).expect(202);
    expect(response.body.appliance).toBe('vc-a');
    await request(world.gateway.url).post(RUN).set('x-api-key', READ_ONLY_API_KEY).expect(403);
    const list = await request(world.gateway.url).get('/appliances').set('x-api-key', READ_ONLY_API_KEY).expect(200);
    expect(list.body.items.map((a: { id: string }) => a.id)).toEqual(['vc-a']);
  });

  it('refuses unknown, truncated and extended API keys', async () => {
    await expectUnauthenticated({ 'x-api-key': 'bgk_test_wrong' });
    await expectUnauthenticated({ 'x-api-key': API_KEY.slice(0, -1) });
    await expectUnauthenticated({ 'x-api-key': `${API_KEY}0` });
    await expectUnauthenticated({ 'x-api-key': sha256Hex(API_KEY) });
  });

  it('fetches the JWKS once, and again (rate-limited) when a token names an unknown kid: key rotation works', async () => {
    const fetchesBefore = world.idp.jwksFetches;
    const token = await world.idp.token(RUN_AND_READ);
    for (let i = 0; i < 5; i++) await request(world.gateway.url).get('/appliances').set(bearer(token)).expect(200);
    expect(world.idp.jwksFetches).toBe(fetchesBefore);

    // Refetches are at most one per jwksRefetchIntervalSeconds (1 s in this world, 30 s by default).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const rotated = world.idp.rotate('rs-2');
    const fresh = await world.idp.token(RUN_AND_READ, { key: rotated });
    await request(world.gateway.url).get('/appliances').set(bearer(fresh)).expect(200);
    expect(world.idp.jwksFetches).toBe(fetchesBefore + 1);

    // A flood of made-up kids does not turn into a flood of JWKS fetches.
    for (let i = 0; i < 5; i++) {
      const bogus = await world.idp.token(RUN_AND_READ, { kid: `made-up-${i}` });
      await request(world.gateway.url).get('/appliances').set(bearer(bogus)).expect(401);
    }
    expect(world.idp.jwksFetches).toBeLessThanOrEqual(fetchesBefore + 2);
  });
});

describe('caller authentication with a PEM public key file, and with an HS256 shared secret', () => {
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;

  beforeAll(async () => {
    idp = await new IdentityProvider().start();
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await sim.start();
  });
  afterAll(async () => {
    await sim.stop();
    await idp.stop();
  });

  const appliances = () => [{ id: 'vc-a', url: sim.url, username: APPLIANCE_USER, password: APPLIANCE_PASSWORD }];

  it('verifies with publicKeyFile', async () => {
    const publicKeyFile = idp.writePublicKey(tempDir());
    const gateway = await startGateway({
      auth: { jwt: { issuer: idp.issuer, audience: AUDIENCE, publicKeyFile } },
      appliances: appliances(),
    });
    try {
      await request(gateway.url)
        .get('/appliances')
        .set('authorization', `Bearer ${await idp.token(RUN_AND_READ)}`)
        .expect(200);
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const forged = await idp.token(RUN_AND_READ, { key: { kid: 'rs-1', alg: 'RS256', ...other } });
      await request(gateway.url).get('/appliances').set('authorization', `Bearer ${forged}`).expect(401);
    } finally {
      await gateway.close();
    }
  });

  it('accepts HS256 only when a secret is configured, and then only HS256', async () => {
    const secret = 'a-shared-secret-of-at-least-32-characters!';
    const gateway = await startGateway({
      auth: { jwt: { issuer: idp.issuer, audience: AUDIENCE, secret } },
      appliances: appliances(),
    });
    try {
      await request(gateway.url)
        .get('/appliances')
        .set('authorization', `Bearer ${await idp.hsToken(secret, RUN_AND_READ)}`)
        .expect(200);
      await request(gateway.url)
        .get('/appliances')
        .set('authorization', `Bearer ${await idp.hsToken('x'.repeat(40), RUN_AND_READ)}`)
        .expect(401);
      await request(gateway.url)
        .get('/appliances')
        .set('authorization', `Bearer ${await idp.token(RUN_AND_READ)}`)
        .expect(401);
    } finally {
      await gateway.close();
    }
  });
});
