import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage } from 'class-validator';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../../../src/config/config-errors.js';
import { GatewayConfig } from '../../../src/config/gateway-config.js';
import { loadAuditConfig, loadConfig, parseConfig } from '../../../src/config/load-config.js';
import { tempDir } from '../../support/temp-dir.js';

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
        'appliances[1].id: duplicate id vc-a (appliances[0] has it; ids must be unique)',
        'surprise: unknown key',
      ]),
    );
    // One line per wrong value: timeoutMs broke isInt, min and max, the second appliance both its id rules.
    const paths = found.map((line) => line.slice(0, line.indexOf(': ')));
    expect(paths).toEqual([...new Set(paths)]);
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

/** Every nested section of the configuration, read from the classes' own decorators: a new section is covered. */
function nestedSections(type: new () => object, prefix = ''): string[] {
  return getMetadataStorage()
    .getTargetValidationMetadatas(type, '', true, false)
    .filter((rule) => rule.type === 'nestedValidation')
    .flatMap((rule) => {
      const key = rule.propertyName;
      const probe = (plainToInstance(type, { [key]: {} }) as Record<string, object>)[key];
      const path = `${prefix}${key}`;
      return [path, ...nestedSections(probe.constructor as new () => object, `${path}${rule.each ? '[0]' : ''}.`)];
    });
}

/** Sets (or deletes) the value at `a.b[0].c`, creating the mappings on the way. */
function at(document: Record<string, unknown>, path: string, value: unknown | typeof DELETE): void {
  const keys = path.split(/\.|\[(\d+)\]\.?/).filter((key) => key !== undefined && key !== '');
  let node = document as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (value === DELETE) delete node[last];
  else node[last] = value;
}
const DELETE = Symbol('delete');

/** What parsing gives: the configuration, or the problems; anything else (a TypeError) fails the test. */
function outcome(document: unknown): unknown {
  try {
    return { config: JSON.parse(JSON.stringify(parseConfig(document, { VC_USER: 'u', VC_PASSWORD: 'p' }))) };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems };
    throw error;
  }
}

describe('an empty section (every key under it commented out: YAML reads null)', () => {
  const sections = nestedSections(GatewayConfig);

  it('is found for every nested section, those operators wrote about included', () => {
    expect(sections).toEqual(
      expect.arrayContaining([
        'appliances[0].tls',
        'limits',
        'audit',
        'audit.sqlite',
        'breaker',
        'rateLimit',
        'cors',
        'metrics',
        'console',
        'logging',
        'fleet',
        'jobs',
        'idempotency',
      ]),
    );
  });

  it.each(nestedSections(GatewayConfig))('%s: means its defaults, as if the key were absent', (section) => {
    const empty = minimal();
    at(empty, section, null);
    const absent = minimal();
    at(absent, section, DELETE);
    expect(outcome(empty)).toEqual(outcome(absent));
  });

  it('starts with its defaults, written as YAML leaves it', () => {
    const text = [
      'auth:',
      '  jwt: { issuer: "https://idp.example", audience: "urn:gw", jwksUri: "https://idp.example/jwks" }',
      'appliances:',
      '  - { id: vc-a, url: "https://vc-a.example", username: u, password: p, tls: }',
      ...['limits', 'audit', 'breaker', 'rateLimit', 'cors', 'metrics', 'console', 'logging', 'fleet', 'jobs'].map(
        (section) => `${section}:\n  # key: value`,
      ),
      'idempotency:',
    ].join('\n');
    const config = parseConfig(parse(text), {});
    expect(config.appliances[0].tls.insecure).toBe(false);
    expect(config.fleet.concurrency).toBe(8);
    expect(config.jobs.pollIntervalMs).toBe(1000);
    expect(config.idempotency.ttlHours).toBe(24);
    expect(config.audit.sqlite.path).toBe('data/audit.db');
    expect(config.limits.upstreamConnections).toBe(64);
  });

  it('an empty key means its default too; an empty required key is reported missing', () => {
    const document = minimal();
    Object.assign(document.appliances[0], { timeoutMs: null, tags: null });
    expect(parseConfig({ ...document, port: null }, { VC_USER: 'u', VC_PASSWORD: 'p' })).toMatchObject({
      port: 3000,
      appliances: [{ timeoutMs: 10_000, tags: [] }],
    });
    Object.assign(document.appliances[0], { url: null });
    expect(problems(document)).toEqual(['appliances[0].url: required: a URL (http:// or https://)']);
  });
});

describe('one clear line per wrong value', () => {
  const withAppliance = (values: Record<string, unknown>) => {
    const document = minimal();
    Object.assign(document.appliances[0], values);
    return document;
  };

  it('says once what the value should be, never what it is', () => {
    expect(problems(withAppliance({ timeoutMs: '10s' }))).toEqual([
      'appliances[0].timeoutMs: must be a whole number of milliseconds from 100 to 600000, got text',
    ]);
    expect(problems(withAppliance({ timeoutMs: 5 }))).toEqual([
      'appliances[0].timeoutMs: must be a whole number of milliseconds from 100 to 600000',
    ]);
    expect(problems({ ...minimal(), port: 'eighty' })).toEqual(['port: must be an integer from 0 to 65535, got text']);
    expect(problems({ ...minimal(), rateLimit: { enabled: 'yes' } })).toEqual([
      'rateLimit.enabled: must be true or false, got text',
    ]);
    expect(problems({ ...minimal(), audit: { store: 'mysql' } })).toEqual([
      'audit.store: must be one of sqlite, postgres, off',
    ]);
    expect(problems({ ...minimal(), audit: 'sqlite' })).toEqual(['audit: must be a mapping of keys, got text']);
    expect(problems({ ...minimal(), fleet: [{ concurrency: 2 }] })).toEqual([
      'fleet: must be a mapping of keys, got a list',
    ]);
    expect(problems({ ...minimal(), appliances: 'vc-a' })).toEqual([
      'appliances: must be a list of mappings ([] for none), got text',
    ]);
    expect(problems({ ...minimal(), appliances: [null] })).toEqual([
      'appliances[0]: must be a mapping of keys, got nothing',
    ]);
    expect(problems(withAppliance({ username: '' }))).toEqual(['appliances[0].username: must not be empty']);
  });

  it('names a misspelt key, and does not also report the key it misspells missing', () => {
    const { appliances, ...rest } = minimal();
    expect(problems({ ...rest, applainces: appliances })).toEqual([
      'applainces: unknown key; did you mean appliances?',
    ]);
    expect(problems({ ...minimal(), fleet: { concurency: 4 } })).toEqual([
      'fleet.concurency: unknown key; did you mean concurrency?',
    ]);
    expect(problems({ ...minimal(), surprise: true })).toEqual(['surprise: unknown key']);
  });

  it('reports a value whose variable is unset once, for that reason', () => {
    expect(problems(withAppliance({ url: '${VC_URL}' }))).toEqual([
      'appliances[0].url: environment variable VC_URL is not set',
    ]);
  });

  it('skips the cross-checks that would build on a broken value', () => {
    const twoBad = minimal();
    twoBad.appliances = [0, 1].map(() => ({ ...twoBad.appliances[0], id: '../bad' }));
    expect(problems(twoBad)).toEqual([
      expect.stringMatching(/^appliances\[0\]\.id: must be 1 to 128 letters/),
      expect.stringMatching(/^appliances\[1\]\.id: must be 1 to 128 letters/),
    ]);
    expect(problems({ ...minimal(), requestTimeoutMs: 'soon' })).toEqual([
      'requestTimeoutMs: must be a whole number of milliseconds from 1000 to 600000, got text',
    ]);
    expect(problems({ ...minimal(), limits: { upstreamConnections: 'many', reservedRunConnections: 8 } })).toEqual([
      'limits.upstreamConnections: must be an integer from 2 to 1024, got text',
    ]);
    // Checks on valid values still run beside a broken one: every problem at once.
    expect(problems({ ...withAppliance({ timeoutMs: 'x' }), requestTimeoutMs: 2000 })).toEqual([
      expect.stringMatching(/^appliances\[0\]\.timeoutMs: /),
      expect.stringMatching(/^requestTimeoutMs: must be at least headersTimeoutMs/),
    ]);
  });

  it('refuses requestTimeoutMs below headersTimeoutMs (Node would not start the server), naming both', () => {
    expect(problems({ ...minimal(), requestTimeoutMs: 2000 })).toEqual([
      'requestTimeoutMs: must be at least headersTimeoutMs (10000): the whole request includes its headers; raise requestTimeoutMs or lower headersTimeoutMs',
    ]);
    expect(problems({ ...minimal(), requestTimeoutMs: 10_000 })).toEqual([]);
    expect(problems({ ...minimal(), requestTimeoutMs: 2000, headersTimeoutMs: 1000 })).toEqual([]);
  });
});

describe('appliance TLS settings', () => {
  const dir = tempDir('gw-config-tls-');
  const pem = readFileSync('test/fixtures/tls/appliance-cert.pem', 'utf8');
  const withTls = (tls: Record<string, unknown>) => {
    const document = minimal();
    Object.assign(document.appliances[0], { tls });
    return document;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a caFile that holds no PEM certificate', () => {
    const files = {
      text: 'this is not a certificate\n',
      der: new X509Certificate(pem).raw,
      key: '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n',
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    expect(problems(withTls({ caFile: join(dir, 'text') }))).toEqual([
      `appliances[0].tls.caFile: ${join(dir, 'text')} holds no PEM certificate (-----BEGIN CERTIFICATE-----): it must hold the appliance's CA (its VMCA root) in PEM`,
    ]);
    expect(problems(withTls({ caFile: join(dir, 'key') }))).toEqual([
      expect.stringContaining('holds no PEM certificate'),
    ]);
    expect(problems(withTls({ caFile: join(dir, 'der') }))).toEqual([
      expect.stringContaining('holds a DER certificate; convert it to PEM: openssl x509 -inform der'),
    ]);
    expect(problems(withTls({ caFile: 'test/fixtures/tls/appliance-cert.pem' }))).toEqual([]);
  });

  it('accepts the fingerprint as `openssl x509 -noout -fingerprint -sha256` prints it', () => {
    const hex = new X509Certificate(pem).fingerprint256;
    for (const written of [
      `sha256 Fingerprint=${hex}`,
      `SHA256 Fingerprint=${hex}\n`,
      hex,
      hex.replaceAll(':', '').toLowerCase(),
    ]) {
      const config = parseConfig(withTls({ fingerprint: written }), { VC_USER: 'u', VC_PASSWORD: 'p' });
      expect(config.appliances[0].tls.fingerprint?.replaceAll(':', '').toUpperCase()).toBe(hex.replaceAll(':', ''));
    }
    expect(problems(withTls({ fingerprint: `SHA1 Fingerprint=${hex.slice(0, 59)}` }))).toEqual([
      expect.stringMatching(/^appliances\[0\]\.tls\.fingerprint: must be a SHA-256 fingerprint/),
    ]);
  });
});

describe('loadAuditConfig (npm run audit:verify)', () => {
  const dir = tempDir('gw-config-audit-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (audit: unknown) => {
    const path = join(dir, 'gateway.yaml');
    writeFileSync(path, stringify({ ...minimal(), audit }));
    return path;
  };

  it('reads the audit section alone: the appliances need not have their secrets', () => {
    expect(loadAuditConfig(write({ sqlite: { path: 'x/audit.db' } }), {})).toMatchObject({
      store: 'sqlite',
      sqlite: { path: 'x/audit.db' },
    });
    expect(loadAuditConfig(write(null), {}).sqlite.path).toBe('data/audit.db');
  });

  it('still reports what is wrong in it, with its path', () => {
    const path = write({ store: 'postgres', postgres: { url: 'postgres://gw:${AUDIT_DB_PASSWORD}@db/gw' } });
    expect(() => loadAuditConfig(path, {})).toThrow(
      'audit.postgres.url: environment variable AUDIT_DB_PASSWORD is not set',
    );
    expect(() => loadAuditConfig(write({ store: 'postgres', retentionDays: 'ever' }), {})).toThrow(
      /audit.retentionDays: must be a whole number of days, at least 1, got text$/m,
    );
  });
});

describe('loadConfig reads the file as YAML 1.2 core (js-yaml, CORE_SCHEMA)', () => {
  const env = { VC_USER: 'u', VC_PASSWORD: 'p' };
  const header = [
    'auth:',
    '  apiKeys:',
    `    - { id: ops, sha256: ${'a'.repeat(64)}, scopes: [backups:read] }`,
    'appliances:',
    '  - id: vc-a',
    '    url: https://vc-a.example',
  ];
  function load(lines: string[]) {
    const path = join(tempDir('gw-yaml-'), 'gateway.yaml');
    writeFileSync(path, `${lines.join('\n')}\n`);
    try {
      return { config: loadConfig(path, env), problems: [] as string[] };
    } catch (error) {
      if (error instanceof ConfigError) return { config: undefined, problems: error.problems };
      throw error;
    }
  }

  it('keeps a value that looks like a date or a yes what it is written as: a string', () => {
    const { config, problems: found } = load([
      ...header,
      '    username: 2024-01-01',
      '    password: p',
      '    name: yes',
    ]);
    expect(found).toEqual([]);
    expect(config?.appliances[0]).toMatchObject({ username: '2024-01-01', name: 'yes' });
  });

  it('refuses a key written twice, saying where, and changes nothing', () => {
    const { problems: found } = load([...header, '    username: u', '    password: p', '    username: other']);
    expect(found).toEqual([expect.stringMatching(/^not valid YAML: duplicated mapping key \(\d+:\d+\)$/)]);
  });

  it('does not merge `<<` keys (not part of YAML 1.2): an unknown key, named', () => {
    const { problems: found } = load([...header, '    username: u', '    password: p', '    <<: { timeoutMs: 5 }']);
    expect(found).toEqual([expect.stringContaining('<<')]);
  });
});
