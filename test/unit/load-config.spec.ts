import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../../src/config/config-errors.js';
import { parseConfig } from '../../src/config/load-config.js';

const minimal = () => ({
  auth: { jwt: { issuer: 'https://idp.example', audience: 'urn:gw', jwksUri: 'https://idp.example/jwks' } },
  appliances: [{ id: 'vc-a', url: 'https://vc-a.example', username: '${VC_USER}', password: '${VC_PASSWORD}' }],
});

function problems(document: unknown, env: NodeJS.ProcessEnv = { VC_USER: 'u', VC_PASSWORD: 'p' }): string[] {
  try {
    parseConfig(document, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('parseConfig', () => {
  it('accepts the documented example (config/gateway.example.yaml) with every key it shows', () => {
    const env = { VC_A_USER: 'a', VC_A_PASSWORD: 'pa', VC_B_USER: 'b', VC_B_PASSWORD: 'pb' };
    const document = parse(readFileSync('config/gateway.example.yaml', 'utf8'));
    // The example names the appliance's CA as it would sit on a server; the loader checks that the file exists.
    document.appliances[0].tls.caFile = 'test/fixtures/tls/appliance-cert.pem';
    const config = parseConfig(document, env);
    expect(config.appliances.map((a) => a.id)).toEqual(['vc-a', 'vc-b']);
    expect(config.auth.jwt?.verifiedTokenCacheSize).toBe(10_000);
    expect(config.fleet.concurrency).toBe(8);
    expect(config.breaker.consecutiveFailures).toBe(5);
    expect(config.audit.store).toBe('sqlite');
  });

  it('substitutes ${NAME} from the environment and applies defaults', () => {
    const config = parseConfig(minimal(), { VC_USER: 'svc@vsphere.local', VC_PASSWORD: 's3cret' });
    expect(config.appliances[0]).toMatchObject({
      username: 'svc@vsphere.local',
      password: 's3cret',
      timeoutMs: 10_000,
      tags: [],
    });
    expect(config.appliances[0].tls.insecure).toBe(false);
    expect(config.port).toBe(3000);
    expect(config.auth.jwt?.algorithms).toEqual(['RS256', 'PS256', 'ES256']);
    expect(config.auth.jwt?.clockToleranceSeconds).toBe(30);
    expect(config.audit.store).toBe('sqlite');
  });

  it('accepts addresses and CIDR ranges as trustedProxies, and nothing else', () => {
    expect(problems({ ...minimal(), trustedProxies: ['10.0.0.0/8', '192.0.2.10', 'fd00::/8'] })).toEqual([]);
    expect(problems({ ...minimal(), trustedProxies: ['proxy.example.com'] })).toEqual([
      'trustedProxies: each value must be an IP address or CIDR range',
    ]);
  });

  it('lets PORT override port', () => {
    expect(parseConfig({ ...minimal(), port: 8080 }, { VC_USER: 'u', VC_PASSWORD: 'p', PORT: '9090' }).port).toBe(9090);
  });

  it('reports a missing environment variable with its path, never an empty secret', () => {
    expect(problems(minimal(), { VC_USER: 'u' })).toEqual([
      'appliances[0].password: environment variable VC_PASSWORD is not set',
    ]);
  });

  it('reports every problem at once, each with its path', () => {
    const document = {
      port: 'eighty',
      auth: {
        jwt: { issuer: 'i', audience: 'a', jwksUri: 'https://idp/jwks', algorithms: ['none'] },
        apiKeys: [{ id: 'k', sha256: 'abc', scopes: ['backups:run'] }],
      },
      appliances: [
        { id: 'vc-a', url: 'vc-a.example', username: 'u', password: 'p', tls: { fingerprint: 'zz' } },
        { id: 'vc-a', url: 'https://x', username: '', password: 'p', timeoutMs: 5 },
      ],
      surprise: true,
    };
    const found = problems(document);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^port: /),
        expect.stringMatching(/^auth\.jwt\.algorithms: each value must be one of/),
        expect.stringMatching(/^auth\.apiKeys\[0\]\.sha256: must be the SHA-256/),
        'appliances[0].url: must be a URL (http:// or https://)',
        expect.stringMatching(/^appliances\[0\]\.tls\.fingerprint: must be a SHA-256 fingerprint/),
        expect.stringMatching(/^appliances\[1\]\.username: /),
        expect.stringMatching(/^appliances\[1\]\.timeoutMs: /),
        'appliances: appliance ids must be unique',
        'surprise: property surprise should not exist',
      ]),
    );
  });

  it('checks cross-field rules', () => {
    const noSource = minimal();
    noSource.auth.jwt = { issuer: 'i', audience: 'a' } as typeof noSource.auth.jwt;
    expect(problems(noSource)).toEqual(['auth.jwt: set exactly one of jwksUri, publicKeyFile or secret']);
    const hsWithoutSecret = { ...minimal(), auth: { jwt: { ...minimal().auth.jwt, algorithms: ['HS256'] } } };
    expect(problems(hsWithoutSecret)).toEqual(['auth.jwt.algorithms: HS256 needs auth.jwt.secret']);
    expect(problems({ ...minimal(), defaultAppliance: 'vc-z' })).toEqual([
      'defaultAppliance: vc-z is not one of the configured appliances',
    ]);
    expect(problems({ ...minimal(), auth: {} })).toEqual([
      expect.stringMatching(/^auth: configure auth.jwt or at least one/),
    ]);
    const insecurePinned = minimal();
    Object.assign(insecurePinned.appliances[0], { tls: { insecure: true, fingerprint: 'ab'.repeat(32) } });
    expect(problems(insecurePinned)).toEqual([
      'appliances[0].tls.insecure: cannot be combined with caFile or fingerprint',
    ]);
    expect(problems({ ...minimal(), audit: { store: 'postgres' } })).toEqual([
      'audit.postgres.url: required when audit.store is postgres',
    ]);
  });

  it('never echoes a value it rejects', () => {
    const document = minimal();
    Object.assign(document.appliances[0], { url: 'https://user:hunter2@vc-a.example:notaport' });
    expect(problems(document).join('\n')).not.toContain('hunter2');
  });
});
