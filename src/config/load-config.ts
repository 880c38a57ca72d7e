import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-errors.js';
import { substituteEnv } from './env-substitution.js';
import { GatewayConfig } from './gateway-config.js';

const DEFAULT_CONFIG_PATH = 'config/gateway.yaml';

/** Where the configuration comes from: `GATEWAY_CONFIG`, else `config/gateway.yaml`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.GATEWAY_CONFIG || DEFAULT_CONFIG_PATH);
}

/** Reads, substitutes, validates. Throws a ConfigError listing every problem; never returns a half-valid config. */
export function loadConfig(path = configPath(), env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(path, [`not valid YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
  return parseConfig(document, env, path);
}

export function parseConfig(document: unknown, env: NodeJS.ProcessEnv, source = '(inline)'): GatewayConfig {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(source, ['(root): must be a mapping of configuration keys']);
  }
  const problems: string[] = [];
  const substituted = substituteEnv(document, env, problems) as Record<string, unknown>;
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (Number.isInteger(port)) substituted.port = port;
    else problems.push(`PORT (environment): must be an integer, got a non-number`);
  }
  const config = plainToInstance(GatewayConfig, substituted, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  problems.push(...errors.flatMap((error) => flatten(error, '')));
  if (problems.length === 0) problems.push(...crossFieldProblems(config));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze(config);
}

/** The validated configuration never changes: a reload (SIGHUP) validates a new one and replaces it whole. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function flatten(error: ValidationError, parent: string): string[] {
  const path = /^\d+$/.test(error.property)
    ? `${parent}[${error.property}]`
    : parent
      ? `${parent}.${error.property}`
      : error.property;
  const own = Object.values(error.constraints ?? {}).map(
    (message) => `${path}: ${stripProperty(message, error.property)}`,
  );
  return [...own, ...(error.children ?? []).flatMap((child) => flatten(child, path))];
}

/** class-validator prefixes default messages with the property name; the path already says it. */
function stripProperty(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}

function crossFieldProblems(config: GatewayConfig): string[] {
  const problems: string[] = [];
  const jwt = config.auth.jwt;
  if (!jwt && config.auth.apiKeys.length === 0) {
    problems.push(
      'auth: configure auth.jwt or at least one auth.apiKeys entry (every route but health needs a caller)',
    );
  }
  if (jwt) {
    const sources = [jwt.jwksUri, jwt.publicKeyFile, jwt.secret].filter((s) => s !== undefined);
    if (sources.length !== 1) {
      problems.push('auth.jwt: set exactly one of jwksUri, publicKeyFile or secret');
    }
    if (jwt.secret === undefined && jwt.algorithms?.includes('HS256')) {
      problems.push('auth.jwt.algorithms: HS256 needs auth.jwt.secret');
    }
    if (jwt.secret !== undefined && jwt.algorithms?.some((a) => a !== 'HS256')) {
      problems.push('auth.jwt.algorithms: with a shared secret only HS256 is allowed');
    }
    if (jwt.publicKeyFile !== undefined) {
      try {
        readFileSync(jwt.publicKeyFile);
      } catch (error) {
        problems.push(
          `auth.jwt.publicKeyFile: cannot read ${jwt.publicKeyFile} (${(error as NodeJS.ErrnoException).code})`,
        );
      }
    }
    jwt.algorithms ??= jwt.secret !== undefined ? ['HS256'] : ['RS256', 'PS256', 'ES256'];
  }
  const keyIds = new Set<string>();
  config.auth.apiKeys.forEach((key, index) => {
    if (keyIds.has(key.id)) problems.push(`auth.apiKeys[${index}].id: duplicate id ${key.id}`);
    keyIds.add(key.id);
  });
  config.appliances.forEach((appliance, index) => {
    const caFile = appliance.tls.caFile;
    if (caFile !== undefined) {
      try {
        readFileSync(caFile);
      } catch (error) {
        problems.push(
          `appliances[${index}].tls.caFile: cannot read ${caFile} (${(error as NodeJS.ErrnoException).code})`,
        );
      }
    }
    if (appliance.tls.insecure && (appliance.tls.fingerprint || caFile)) {
      problems.push(`appliances[${index}].tls.insecure: cannot be combined with caFile or fingerprint`);
    }
  });
  if (config.audit.store === 'postgres' && config.audit.postgres === undefined) {
    problems.push('audit.postgres.url: required when audit.store is postgres');
  }
  if (config.limits.reservedRunConnections >= config.limits.upstreamConnections) {
    problems.push('limits.reservedRunConnections: must be less than limits.upstreamConnections (reads need some)');
  }
  if (config.metrics.port !== undefined && config.metrics.port === config.port && config.port !== 0) {
    problems.push('metrics.port: must differ from port (leave it unset to serve /metrics on the main port)');
  }
  if (config.defaultAppliance !== undefined && !config.appliances.some((a) => a.id === config.defaultAppliance)) {
    problems.push(`defaultAppliance: ${config.defaultAppliance} is not one of the configured appliances`);
  }
  problems.push(...consoleConfigProblems(config));
  return problems;
}

/** The console's checks across sections; the console module runs them too, for configurations built in code. */
export function consoleConfigProblems(config: GatewayConfig): string[] {
  const settings = config.console;
  if (!settings.enabled) return [];
  const problems: string[] = [];
  if (settings.oidc && !config.auth.jwt) {
    problems.push(
      'console.oidc: needs auth.jwt, which verifies the access tokens the provider issues to the console (a session may do what its token may)',
    );
  }
  if (settings.oidc && settings.publicUrl === undefined) {
    problems.push(
      'console.publicUrl: required with console.oidc (the redirect URI is built from it, never from the Host header)',
    );
  }
  if (config.redis && settings.apiKeyLogin && !settings.oidc && settings.sessionSecret === undefined) {
    problems.push(
      'console.sessionSecret: required with redis.url and console.apiKeyLogin (it seals the sessions kept in Redis; console.oidc would use its client secret)',
    );
  }
  return problems;
}
