/**
 * docker-compose.yml, checked without a Docker engine: as `docker compose` sees it after `cp .env.example .env`
 * (merge keys, interpolation), against the Compose Specification's JSON schema, and against the files and the
 * gateway configuration it refers to.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { interpolate } from '../../support/compose-env.js';
import {
  buildTarget,
  containerEnv,
  dependencies,
  durationMs,
  loadCompose,
  mounts,
  networkNames,
  type Service,
  validateGatewayConfig,
} from '../../support/compose-file.js';
import { readStages } from '../../support/dockerfile.js';
import { inBuildContext } from '../../support/dockerignore.js';

const { compose, raw, env, problems } = loadCompose();
const services = Object.entries(compose.services);
const gateways = services.filter(([, service]) => buildTarget(service) === 'gateway');
const nginxConf = readFileSync('deploy/compose/nginx.conf', 'utf8');

/** The config file a gateway service mounts where GATEWAY_CONFIG points, as a path in this checkout. */
function mountedConfig(service: Service): string {
  const target = containerEnv(service).GATEWAY_CONFIG;
  const mount = mounts(service).find((m) => m.target === target);
  if (!mount) throw new Error(`nothing is mounted at GATEWAY_CONFIG (${target})`);
  return mount.source;
}

function gatewayConfig(service: Service) {
  const result = validateGatewayConfig(mountedConfig(service), containerEnv(service));
  expect(result.problems).toEqual([]);
  return result.config as NonNullable<typeof result.config>;
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification JSON schema (vendored, see test/fixtures/SOURCES.md)', () => {
    const schema = JSON.parse(readFileSync('test/fixtures/compose-spec.schema.json', 'utf8'));
    // The file names its meta-schema by an https URL ajv does not know; it is draft-07, ajv's default.
    delete schema.$schema;
    const validate = new Ajv({ allErrors: true, allowUnionTypes: true, strict: false }).compile(schema);
    const valid = validate(compose);
    expect((validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual(
      [],
    );
    expect(valid).toBe(true);
    expect(validate({ services: { x: { image: 1, bogus: true } } })).toBe(false); // the schema does reject things
  });

  it('the vendored schema is the published file test/fixtures/SOURCES.md names (same SHA-256)', () => {
    const digest = createHash('sha256').update(readFileSync('test/fixtures/compose-spec.schema.json')).digest('hex');
    expect(readFileSync('test/fixtures/SOURCES.md', 'utf8')).toContain(digest);
  });

  it('comes up with .env.example alone: every variable it requires is there, and .env.example has no stale one', () => {
    expect(problems).toEqual([]);
    const text = readFileSync('docker-compose.yml', 'utf8');
    const referenced = new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
    expect(Object.keys(env).filter((name) => !referenced.has(name))).toEqual([]);
  });

  it('every file it mounts and every build it names exist (with the Dockerfile stage and the build context)', () => {
    const binds = services.flatMap(([, service]) =>
      mounts(service)
        .filter((m) => m.bind)
        .map((m) => m.source),
    );
    expect(binds.length).toBeGreaterThanOrEqual(3);
    expect(binds.filter((source) => !existsSync(source))).toEqual([]);

    const stages = readStages().map((s) => s.name);
    for (const [name, service] of services.filter(([, s]) => s.build)) {
      const build = service.build as { context: string; target: string };
      expect({ name, context: existsSync(join(build.context, 'Dockerfile')) }).toEqual({ name, context: true });
      expect(stages).toContain(build.target);
    }
    expect(inBuildContext('config/compose.yaml')).toBe(false); // mounted, never baked into the image
  });

  it('every service it depends on, network and named volume it uses is declared', () => {
    const names = new Set(Object.keys(compose.services));
    const volumes = new Set(Object.keys(compose.volumes ?? {}));
    const networks = new Set(Object.keys(compose.networks ?? {}));
    const undeclared = services.flatMap(([name, service]) => [
      ...dependencies(service)
        .filter((dependency) => !names.has(dependency))
        .map((d) => `${name} depends on ${d}`),
      ...mounts(service)
        .filter((m) => !m.bind && !volumes.has(m.source))
        .map((m) => `${name} mounts volume ${m.source}`),
      ...networkNames(service)
        .filter((network) => !networks.has(network))
        .map((n) => `${name} joins ${n}`),
    ]);
    expect(undeclared).toEqual([]);
  });

  it('runs two gateway replicas, each with its own writable data/ volume under a read-only root', () => {
    const replicas = gateways.reduce((sum, [, service]) => sum + (service.deploy?.replicas ?? 1), 0);
    expect(replicas).toBeGreaterThanOrEqual(2);
    const dataVolumes = gateways.map(([, service]) => mounts(service).find((m) => m.target === '/app/data')?.source);
    expect(dataVolumes.every((volume) => volume !== undefined)).toBe(true);
    expect(new Set(dataVolumes).size).toBe(dataVolumes.length); // a spool is never shared between replicas
    for (const [, service] of gateways) expect(service.read_only).toBe(true);
  });

  it('only nginx publishes a port, on the port nginx.conf listens on', () => {
    const publishing = services.filter(([, service]) => (service.ports ?? []).length > 0).map(([name]) => name);
    expect(publishing).toEqual(['nginx']);
    const target = String(compose.services.nginx.ports?.[0]).split(':').at(-1);
    expect(nginxConf).toMatch(new RegExp(`^\\s*listen ${target};`, 'm'));
  });

  it('publishes on 127.0.0.1 only unless told otherwise: the placeholder credentials are not on every interface', () => {
    const hostAddresses = services.flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => {
        if (typeof port === 'object') return `${name} ${(port as { host_ip?: string }).host_ip ?? '(every interface)'}`;
        const parts = String(port).split(':');
        // HOST:CONTAINER or CONTAINER alone bind every interface; only IP:HOST:CONTAINER names an address.
        return `${name} ${parts.length === 3 ? parts[0] : '(every interface)'}`;
      }),
    );
    expect(hostAddresses).toEqual(['nginx 127.0.0.1']);
    // Another GATEWAY_PORT keeps the address; only GATEWAY_ADDRESS, said explicitly, changes it.
    const nginxPorts = (extra: Record<string, string>) =>
      interpolate(raw.services.nginx.ports, { ...env, ...extra }, []);
    expect(nginxPorts({ GATEWAY_PORT: '9090' })).toEqual(['127.0.0.1:9090:8080']);
    expect(nginxPorts({ GATEWAY_ADDRESS: '0.0.0.0' })).toEqual(['0.0.0.0:8080:8080']);
  });

  it("nginx's upstream is every gateway replica at the port its config listens on", () => {
    const servers = [...nginxConf.matchAll(/^\s*server ([\w.-]+):(\d+)\b/gm)].map((m) => `${m[1]}:${m[2]}`);
    const expected = gateways.map(([name, service]) => `${name}:${gatewayConfig(service).port}`);
    expect(servers.sort()).toEqual(expected.sort());
  });

  it('the config each replica mounts passes the gateway validation with the environment compose gives it', () => {
    expect(gateways.length).toBeGreaterThan(0);
    for (const [, service] of gateways) {
      const config = gatewayConfig(service);
      expect(config.audit.store).toBe('postgres');
      expect(config.redis?.url).toMatch(/^redis:\/\//);
      expect(config.appliances.length).toBe(2);
      expect(config.auth.apiKeys.length).toBeGreaterThan(0);
    }
  });

  it('PostgreSQL, Redis and the appliances the config names are services of this file, with matching secrets', () => {
    const [, gateway] = gateways[0];
    const config = gatewayConfig(gateway);
    const postgres = new URL(config.audit.postgres?.url ?? '');
    const db = compose.services[postgres.hostname];
    expect(containerEnv(db).POSTGRES_PASSWORD).toBe(decodeURIComponent(postgres.password));
    expect(containerEnv(db).POSTGRES_USER).toBe(postgres.username);

    const redis = new URL(config.redis?.url ?? '');
    const redisCommand = compose.services[redis.hostname].command as string[];
    expect(redisCommand[redisCommand.indexOf('--requirepass') + 1]).toBe(decodeURIComponent(redis.password));

    // Each appliance URL is a port the simulator listens on: --port P --count N serves P..P+N-1.
    for (const appliance of config.appliances) {
      const url = new URL(appliance.url);
      const args = compose.services[url.hostname].command as string[];
      const first = Number(args[args.indexOf('--port') + 1]);
      const count = Number(args[args.indexOf('--count') + 1] ?? 1);
      expect(Number(url.port)).toBeGreaterThanOrEqual(first);
      expect(Number(url.port)).toBeLessThan(first + count);
      expect(args[args.indexOf('--user') + 1]).toBe(appliance.username);
      expect(containerEnv(compose.services[url.hostname]).SIMULATOR_PASSWORD).toBe(appliance.password);
    }
  });

  it("trusts X-Forwarded-For from nginx's fixed address only, inside the network's subnet", () => {
    const config = gatewayConfig(gateways[0][1]);
    const nginxNetworks = compose.services.nginx.networks as Record<string, { ipv4_address?: string }>;
    const [network, { ipv4_address }] = Object.entries(nginxNetworks)[0];
    expect(config.trustedProxies).toEqual([ipv4_address]);
    const subnet = compose.networks?.[network]?.ipam?.config?.[0]?.subnet ?? '';
    expect(subnet.endsWith('/24') && ipv4_address?.startsWith(subnet.split('.').slice(0, 3).join('.'))).toBe(true);
    expect(nginxConf).toMatch(/proxy_set_header X-Forwarded-For /);
  });

  it('waits longer than shutdownGraceMs before SIGKILL, so SIGTERM drains in-flight requests', () => {
    for (const [, service] of gateways) {
      expect(durationMs(service.stop_grace_period ?? '10s')).toBeGreaterThan(gatewayConfig(service).shutdownGraceMs);
    }
  });

  it("the quick start's API key (in the header comment) is the one whose SHA-256 .env.example holds", () => {
    const key = /X-API-Key: ([\w-]+)/.exec(readFileSync('docker-compose.yml', 'utf8'))?.[1] ?? '';
    expect(key).toMatch(/^change-me/); // a placeholder, never a real key
    expect(createHash('sha256').update(key).digest('hex')).toBe(env.API_KEY_SHA256);
  });
});
