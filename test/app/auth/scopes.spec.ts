import { createHash } from 'node:crypto';
import { accessPolicy } from '../../../src/auth/access-policy.js';
import { type CallerId, storedCaller } from '../../../src/auth/caller-id.js';
import type { Principal } from '../../../src/auth/principal.js';
import { scopesFromClaims } from '../../../src/auth/principal.js';
import { hasAnyOf, mayUseAppliance, scopedAppliances } from '../../../src/auth/scopes.js';
import { type ProbeApp, startProbeApp } from '../../support/probe-app.js';

const principal = (...scopes: string[]): Principal => ({
  caller: 'apikey:s' as CallerId,
  authMethod: 'apiKey',
  scopes: new Set(scopes),
});

describe('scope rules', () => {
  it('the bare family covers every appliance; `{family}:{id}` only that one; nothing else does', () => {
    expect(mayUseAppliance(principal('backups:run'), 'backups:run', 'vc-a')).toBe(true);
    expect(mayUseAppliance(principal('backups:run:vc-a'), 'backups:run', 'vc-a')).toBe(true);
    expect(mayUseAppliance(principal('backups:run:vc-a'), 'backups:run', 'vc-b')).toBe(false);
    expect(mayUseAppliance(principal('backups:read'), 'backups:run', 'vc-a')).toBe(false);
    expect(mayUseAppliance(principal('backups:run:vc-a'), 'backups:run', 'vc-a2')).toBe(false);
    expect(mayUseAppliance(principal(), 'backups:run', 'vc-a')).toBe(false);
  });

  it('holding a family at all: bare or for some appliance', () => {
    expect(hasAnyOf(principal('backups:read'), 'backups:read')).toBe(true);
    expect(hasAnyOf(principal('backups:read:vc-b'), 'backups:read')).toBe(true);
    expect(hasAnyOf(principal('backups:run', 'backups:run:vc-a', 'audit:read'), 'backups:read')).toBe(false);
  });

  it('the appliances named one by one, without the bare family and without other families', () => {
    expect(
      scopedAppliances(
        principal('backups:read', 'backups:read:vc-a', 'backups:run:vc-b', 'backups:read:vc-c'),
        'backups:read',
      ),
    ).toEqual(['vc-a', 'vc-c']);
    expect(scopedAppliances(principal('backups:readers:vc-a'), 'backups:read')).toEqual([]);
  });

  it('scopes from claims: `scope` split on spaces, `scp` as an array or a string, empty and non-string parts dropped', () => {
    expect([...scopesFromClaims({ scope: ' backups:run  audit:read ' })]).toEqual(['backups:run', 'audit:read']);
    expect([...scopesFromClaims({ scp: ['backups:read', '', 42, null] })]).toEqual(['backups:read']);
    expect([...scopesFromClaims({ scp: 'a b' })]).toEqual(['a', 'b']);
    expect([...scopesFromClaims({ scp: ' a  b ' })]).toEqual(['a', 'b']);
    expect([...scopesFromClaims({ scope: 'a', scp: ['b'] })]).toEqual(['a', 'b']);
    expect([...scopesFromClaims({ scope: ['a'], scp: { b: true } })]).toEqual([]);
  });
});

describe('what a caller may see (accessPolicy.visibleAppliances: the appliance list, the audit trail)', () => {
  it('the bare family: every appliance; otherwise the appliances named, and only under that family', () => {
    expect(accessPolicy.visibleAppliances(principal('audit:read', 'audit:read:vc-a'), 'audit:read')).toEqual({
      all: true,
    });
    expect(
      accessPolicy.visibleAppliances(principal('audit:read:vc-a', 'backups:read', 'audit:read:vc-b'), 'audit:read'),
    ).toEqual({ all: false, appliances: ['vc-a', 'vc-b'] });
    expect(accessPolicy.visibleAppliances(principal('backups:read'), 'audit:read')).toEqual({
      all: false,
      appliances: [],
    });
  });
});

describe('a caller id read back from a store', () => {
  it('is taken only in the two forms the gateway builds', () => {
    expect(storedCaller('jwt:https://idp.example:alice')).toBe('jwt:https://idp.example:alice');
    expect(storedCaller('apikey:ops')).toBe('apikey:ops');
    for (const other of ['', 'ops', 'session:abc', 'JWT:x', ' apikey:ops']) expect(storedCaller(other)).toBeUndefined();
  });
});

/** ScopeGuard on routes declaring each kind of requirement, for callers holding each kind of scope. */
describe('ScopeGuard', () => {
  let probe: ProbeApp;
  const keys: Record<string, string[]> = {
    'run-all': ['backups:run'],
    'read-all': ['backups:read'],
    'read-vc-a': ['backups:read:vc-a'],
    'audit-all': ['audit:read'],
    'audit-vc-a': ['audit:read:vc-a'],
    nothing: [],
  };
  const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

  beforeAll(async () => {
    probe = await startProbeApp({
      apiKeys: Object.entries(keys).map(([id, scopes]) => ({ id, sha256: sha256(`key-${id}`), scopes })),
    });
  });
  afterAll(() => probe.close());

  const call = (caller: string, url: string, method: 'GET' | 'POST' = 'GET') =>
    probe.request({ method, url, headers: { 'x-api-key': `key-${caller}` } });

  it.each([
    // route, caller, status
    ['/appliances/vc-a/read', 'read-all', 200],
    ['/appliances/vc-a/read', 'read-vc-a', 200],
    ['/appliances/vc-b/read', 'read-vc-a', 403],
    ['/appliances/vc-a/read', 'run-all', 403],
    ['/list', 'read-vc-a', 200],
    ['/list', 'read-all', 200],
    ['/list', 'audit-all', 403],
    ['/verify', 'audit-all', 200],
    ['/verify', 'audit-vc-a', 403],
    ['/verify', 'read-all', 403],
    ['/whoami', 'nothing', 200],
  ])('%s as %s: %s', async (url, caller, status) => {
    const response = await call(caller, url);
    expect(response.statusCode).toBe(status);
    if (status === 403) expect(response.json()).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });

  it('a use-case route leaves the decision to the use case (it audits refusals): any authenticated caller gets in', async () => {
    expect((await call('nothing', '/appliances/vc-a/run', 'POST')).statusCode).toBe(202);
    expect((await probe.request({ method: 'POST', url: '/appliances/vc-a/run' })).statusCode).toBe(401);
  });

  it('a scoped route that skipped authentication (marked public by mistake) fails closed: 401', async () => {
    const response = await probe.request({ url: '/public-but-scoped' });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'UNAUTHENTICATED', detail: 'Authentication required.' });
  });

  it('each refusal says which scope would do, and names the appliance when there is one', async () => {
    expect((await call('read-vc-a', '/appliances/vc-b/read')).json()).toMatchObject({
      detail: 'This needs scope backups:read or backups:read:vc-b.',
      appliance: 'vc-b',
    });
    expect((await call('audit-vc-a', '/verify')).json()).toMatchObject({
      detail: 'This covers every appliance, so it needs scope audit:read itself.',
    });
    const any = (await call('audit-all', '/list')).json();
    expect(any.detail).toBe('This needs scope backups:read (or backups:read:{applianceId}).');
    expect(any).not.toHaveProperty('appliance');
  });
});
