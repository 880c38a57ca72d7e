import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { SignJWT } from 'jose';
import { JwtKeys } from '../../../src/auth/jwt-keys.js';
import { JwtConfig } from '../../../src/config/gateway-config.js';
import { AUDIENCE, IdentityProvider } from '../../support/identity-provider.js';
import { type ProbeApp, startProbeApp } from '../../support/probe-app.js';

/** Bearer access tokens signed by a real identity provider (JWKS on loopback), through the jwt strategy, jose and the guards. */
describe('JWT access tokens', () => {
  const idp = new IdentityProvider();
  let probe: ProbeApp;

  beforeAll(async () => {
    await idp.start();
    probe = await startProbeApp({ jwt: idp.jwtConfig() });
  });
  afterAll(async () => {
    await probe.close();
    await idp.stop();
  });
  afterEach(() => jest.restoreAllMocks());

  const whoami = (token: string) => probe.request({ url: '/whoami', headers: { authorization: `Bearer ${token}` } });

  /** Signs exactly these claims (no sub or client_id unless given), as the provider's RS256 key. */
  async function signed(claims: Record<string, unknown>): Promise<string> {
    const key = idp.keys[0];
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt' })
      .setIssuer(idp.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(key.privateKey);
  }

  async function principalOf(claims: Record<string, unknown>) {
    const response = await whoami(await signed(claims));
    expect(response.statusCode).toBe(200);
    return response.json();
  }

  it('a valid token authenticates its subject, with its name, client and scopes', async () => {
    expect(
      await principalOf({
        sub: 'alice',
        name: 'Alice Example',
        client_id: 'portal',
        scope: 'backups:run  backups:read',
      }),
    ).toEqual({
      caller: `jwt:${idp.issuer}:alice`,
      name: 'Alice Example',
      clientId: 'portal',
      authMethod: 'jwt',
      scopes: ['backups:read', 'backups:run'],
    });
  });

  it.each([
    ['client_id first', { sub: 's', client_id: 'c1', azp: 'c2', appid: 'c3' }, 'c1'],
    ['then azp', { sub: 's', azp: 'c2', appid: 'c3' }, 'c2'],
    ['then appid (Entra v1)', { sub: 's', appid: 'c3' }, 'c3'],
    ['an empty client_id is none', { sub: 's', client_id: '', azp: 'c2' }, 'c2'],
  ])('the client: %s', async (_name, claims, clientId) => {
    expect((await principalOf(claims)).clientId).toBe(clientId);
  });

  it('a token without `sub` is refused (RFC 9068 §2.2): tokens without one would all be one caller', async () => {
    for (const claims of [{ client_id: 'svc-scheduler' }, { sub: '', scope: 'backups:read' }, { sub: 7 }]) {
      expect((await whoami(await signed(claims))).statusCode).toBe(401);
    }
    expect((await whoami(await idp.token({ scope: 'backups:read' }, { withoutSubject: true }))).statusCode).toBe(401);
  });

  it('the caller is namespaced by issuer: a token whose sub is `apikey:ops` is not API key `ops`', async () => {
    expect((await principalOf({ sub: 'apikey:ops' })).caller).toBe(`jwt:${idp.issuer}:apikey:ops`);
  });

  it('the name: `name`, else `preferred_username`; claims that are not strings are ignored', async () => {
    expect((await principalOf({ sub: 'a', preferred_username: 'alice@corp' })).name).toBe('alice@corp');
    expect((await principalOf({ sub: 'a', name: 'Alice', preferred_username: 'alice@corp' })).name).toBe('Alice');
    expect(await principalOf({ sub: 'a', name: ['x'], client_id: { id: 1 } })).toEqual({
      caller: `jwt:${idp.issuer}:a`,
      authMethod: 'jwt',
      scopes: [],
    });
  });

  it('claims are canonical and bounded before anyone keeps them: lone surrogates replaced, 256 units at most', async () => {
    const principal = await principalOf({ sub: `x${'\ud800'}y`, name: 'n'.repeat(300) });
    expect(principal.caller).toBe(`jwt:${idp.issuer}:x\ufffdy`);
    expect(principal.name).toBe('n'.repeat(256));
  });

  it('scopes from `scp`, as an array (Entra, Okta) or a string', async () => {
    expect((await principalOf({ sub: 'a', scp: ['backups:read', '', 3, 'audit:read'] })).scopes).toEqual([
      'audit:read',
      'backups:read',
    ]);
    expect((await principalOf({ sub: 'a', scp: 'backups:run audit:read' })).scopes).toEqual([
      'audit:read',
      'backups:run',
    ]);
  });

  it('refuses a token without exp (it would never expire), one naming critical extensions, one with an unknown kid', async () => {
    const refused = [
      await idp.token({ scope: 'backups:read' }, { withoutExpiry: true }),
      await idp.token({ scope: 'backups:read' }, { header: { crit: ['urn:x'], 'urn:x': true } }),
      await idp.token({ scope: 'backups:read' }, { kid: 'nobody-published-this', key: idp.rogue }),
      await idp.token({ scope: 'backups:read' }, { key: idp.rogue }),
      'not.a.jwt',
    ];
    for (const token of refused) {
      const response = await whoami(token);
      expect({ token, status: response.statusCode }).toEqual({ token, status: 401 });
      expect(response.headers['www-authenticate']).toBe('Bearer realm="backup-gateway", error="invalid_token"');
    }
    // The same claims, properly signed and with exp, pass: each refusal is about what was changed.
    expect((await whoami(await idp.token({ scope: 'backups:read' }))).statusCode).toBe(200);
  });

  it('exp is enforced with the configured clock tolerance (30 s by default)', async () => {
    expect((await whoami(await idp.token({ sub: 'a' }, { expiresInSeconds: -10 }))).statusCode).toBe(200);
    expect((await whoami(await idp.token({ sub: 'a' }, { expiresInSeconds: -60 }))).statusCode).toBe(401);
  });

  it('a token that verified is remembered: the next request with it checks no signature', async () => {
    // Observed, not mocked: the spy counts the signature checks jose asks WebCrypto for and still runs each one.
    const verifications = jest.spyOn(globalThis.crypto.subtle, 'verify');
    const token = await idp.token({ sub: 'carol', scope: 'backups:read' });
    for (let i = 0; i < 3; i++)
      expect((await whoami(token)).json()).toMatchObject({ caller: `jwt:${idp.issuer}:carol` });
    expect(verifications).toHaveBeenCalledTimes(1);
    // Another token is another principal, verified on its own.
    expect((await whoami(await idp.token({ sub: 'dave' }))).json()).toMatchObject({ caller: `jwt:${idp.issuer}:dave` });
    expect(verifications).toHaveBeenCalledTimes(2);
  });

  it('a token refused once is refused again, never remembered', async () => {
    const forged = await idp.token({ sub: 'mallory' }, { key: idp.rogue });
    expect((await whoami(forged)).statusCode).toBe(401);
    expect((await whoami(forged)).statusCode).toBe(401);
  });
});

describe('JWT verification without the cache, and with fixed keys', () => {
  const idp = new IdentityProvider();
  let dir: string;
  beforeAll(async () => {
    await idp.start();
    dir = mkdtempSync(join(tmpdir(), 'jwt-keys-'));
  });
  afterAll(async () => {
    await idp.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => jest.restoreAllMocks());

  async function statusWith(jwt: Record<string, unknown>, token: string): Promise<number> {
    const probe = await startProbeApp({ jwt });
    try {
      return (await probe.request({ url: '/whoami', headers: { authorization: `Bearer ${token}` } })).statusCode;
    } finally {
      await probe.close();
    }
  }

  it('verifiedTokenCacheSize 0 verifies every request', async () => {
    const probe = await startProbeApp({ jwt: idp.jwtConfig({ verifiedTokenCacheSize: 0 }) });
    try {
      const verifications = jest.spyOn(globalThis.crypto.subtle, 'verify');
      const token = await idp.token({ sub: 'erin' });
      for (let i = 0; i < 3; i++) {
        expect(
          (await probe.request({ url: '/whoami', headers: { authorization: `Bearer ${token}` } })).statusCode,
        ).toBe(200);
      }
      expect(verifications).toHaveBeenCalledTimes(3);
    } finally {
      await probe.close();
    }
  });

  it('publicKeyFile: tokens signed with that key pass, others do not', async () => {
    const jwt = { issuer: idp.issuer, audience: AUDIENCE, publicKeyFile: idp.writePublicKey(dir) };
    expect(await statusWith(jwt, await idp.token({ sub: 'a' }))).toBe(200);
    expect(await statusWith(jwt, await idp.token({ sub: 'a' }, { key: idp.rogue }))).toBe(401);
  });

  it('a shared secret: HS256 tokens with that secret pass, RS256 ones do not', async () => {
    const secret = 's'.repeat(40);
    const jwt = { issuer: idp.issuer, audience: AUDIENCE, secret };
    expect(await statusWith(jwt, await idp.hsToken(secret, { scope: 'backups:read' }))).toBe(200);
    expect(await statusWith(jwt, await idp.hsToken('t'.repeat(40)))).toBe(401);
    expect(await statusWith(jwt, await idp.token({ sub: 'a' }))).toBe(401);
  });

  it('an unknown kid refetches the JWKS at most once per jwksRefetchIntervalSeconds (key rotation)', async () => {
    const probe = await startProbeApp({ jwt: idp.jwtConfig({ jwksRefetchIntervalSeconds: 1 }) });
    const status = async (token: string) =>
      (await probe.request({ url: '/whoami', headers: { authorization: `Bearer ${token}` } })).statusCode;
    try {
      const before = idp.jwksFetches;
      expect(await status(await idp.token({ sub: 'a' }))).toBe(200);
      expect(idp.jwksFetches).toBe(before + 1);
      // Rotated moments after the last fetch: within the interval the new kid is not looked up again.
      const rotated = idp.rotate(`rotated-${Date.now()}`);
      expect(await status(await idp.token({ sub: 'b' }, { kid: rotated.kid, key: rotated }))).toBe(401);
      expect(idp.jwksFetches).toBe(before + 1);
      // Once the interval has passed, the unknown kid fetches the set again and the token passes.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await status(await idp.token({ sub: 'c' }, { kid: rotated.kid, key: rotated }))).toBe(200);
      expect(idp.jwksFetches).toBe(before + 2);
    } finally {
      await probe.close();
    }
  });

  it('a key set with no key source refuses to start', () => {
    const config = Object.assign(new JwtConfig(), { issuer: 'i', audience: 'a' });
    expect(() => new JwtKeys(config)).toThrow('auth.jwt: no key source');
  });
});

/** How the bearer token is read from the Authorization header, with API keys configured beside it. */
describe('the Authorization header', () => {
  const idp = new IdentityProvider();
  const KEY = 'gw-jwt-header-test-key';
  let probe: ProbeApp;

  beforeAll(async () => {
    await idp.start();
    probe = await startProbeApp({
      jwt: idp.jwtConfig(),
      apiKeys: [{ id: 'svc', sha256: createHash('sha256').update(KEY).digest('hex'), scopes: ['backups:read'] }],
    });
  });
  afterAll(async () => {
    await probe.close();
    await idp.stop();
  });

  const status = async (headers: Record<string, string>) =>
    (await probe.request({ url: '/whoami', headers })).statusCode;

  it('the scheme in any case, followed by one or more spaces, then the whole token', async () => {
    const token = await idp.token({ sub: 'a' });
    expect(await status({ authorization: `Bearer ${token}` })).toBe(200);
    expect(await status({ authorization: `bearer ${token}` })).toBe(200);
    expect(await status({ authorization: `BEARER   ${token}` })).toBe(200);
  });

  it.each([
    ['another scheme', (token: string) => `Basic ${token}`],
    ['a prefix before the scheme', (token: string) => `xBearer ${token}`],
    ['no space after the scheme', (token: string) => `Bearer${token}`],
    ['anything after the token', (token: string) => `Bearer ${token} trailing`],
    ['a second token', (token: string) => `Bearer ${token},${token}`],
    ['the scheme alone', () => 'Bearer'],
    ['the scheme and a space', () => 'Bearer '],
  ])('%s is no bearer token: 401', async (_name, header) => {
    expect(await status({ authorization: header(await idp.token({ sub: 'a' })) })).toBe(401);
  });

  it('without an Authorization header, the next strategy (the API key) decides', async () => {
    expect(await status({ 'x-api-key': KEY })).toBe(200);
    expect(await status({})).toBe(401);
  });

  it('a token that does not verify falls through to the API key as well, and fails alone', async () => {
    expect(await status({ authorization: 'Bearer not.a.jwt', 'x-api-key': KEY })).toBe(200);
    expect(await status({ authorization: 'Bearer not.a.jwt' })).toBe(401);
    expect(await status({ authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': KEY })).toBe(200);
  });
});
