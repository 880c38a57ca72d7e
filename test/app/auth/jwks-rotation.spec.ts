import { IdentityProvider } from '../../support/identity-provider.js';
import { type ProbeApp, startProbeApp } from '../../support/probe-app.js';

/**
 * Withdrawing a key from the JWKS is how an identity provider revokes a compromised one. The gateway trusts only what
 * the set it holds lists (jose's remote key set), whether a token is new or was verified and remembered before.
 */
describe('signing keys the identity provider rotates, replaces and withdraws', () => {
  let idp: IdentityProvider;
  let probe: ProbeApp;

  beforeEach(async () => {
    idp = await new IdentityProvider().start();
  });
  afterEach(async () => {
    await probe?.close();
    await idp.stop();
  });

  const status = async (token: string) =>
    (await probe.request({ url: '/whoami', headers: { authorization: `Bearer ${token}` } })).statusCode;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('a key withdrawn is refused after the refetch an unknown kid triggers, for new tokens and remembered ones', async () => {
    probe = await startProbeApp({ jwt: idp.jwtConfig({ jwksRefetchIntervalSeconds: 1 }) });
    const before = await idp.token({ sub: 'alice' }, { kid: 'rs-1' });
    expect(await status(before)).toBe(200);
    expect(await status(before)).toBe(200); // now remembered
    const stolen = idp.withdraw('rs-1');
    const rotated = idp.rotate('rs-2');
    await sleep(1100); // past the cooldown, so the unknown kid fetches the set again
    expect(await status(await idp.token({ sub: 'bob' }, { kid: 'rs-2', key: rotated }))).toBe(200);
    expect(await status(before)).toBe(401);
    expect(await status(await idp.token({ sub: 'mallory' }, { kid: 'rs-1', key: stolen }))).toBe(401);
  });

  it('a key withdrawn is refused once the set is older than jwksCacheMaxAgeMs, with nothing else to trigger a fetch', async () => {
    probe = await startProbeApp({ jwt: idp.jwtConfig({ jwksCacheMaxAgeMs: 1000 }) });
    const before = await idp.token({ sub: 'alice' }, { alg: 'PS256' });
    expect(await status(before)).toBe(200);
    expect(await status(before)).toBe(200);
    const stolen = idp.withdraw('ps-1');
    await sleep(1100);
    expect(await status(before)).toBe(401);
    expect(await status(await idp.token({ sub: 'mallory' }, { alg: 'PS256', key: stolen }))).toBe(401);
    // The rest of the set is still trusted.
    expect(await status(await idp.token({ sub: 'alice' }))).toBe(200);
  });

  it('a key replaced under the same kid: the new key is trusted once the set is refetched, the old one no more', async () => {
    probe = await startProbeApp({ jwt: idp.jwtConfig({ jwksCacheMaxAgeMs: 1000 }) });
    const old = await idp.token({ sub: 'alice' }, { alg: 'ES256' });
    expect(await status(old)).toBe(200);
    expect(await status(old)).toBe(200); // now remembered
    const fetches = idp.jwksFetches;
    const replacement = idp.replace('es-1');
    await sleep(1100);
    expect(await status(await idp.token({ sub: 'alice' }, { alg: 'ES256', key: replacement }))).toBe(200);
    expect(idp.jwksFetches).toBe(fetches + 1);
    expect(await status(old)).toBe(401);
  });
});
