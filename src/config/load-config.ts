import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, type ValidationError, validateSync } from 'class-validator';
import { CORE_SCHEMA, load as parseYaml } from 'js-yaml';
import { ConfigError } from './config-errors.js';
import { substituteEnv } from './env-substitution.js';
import { AuditConfig, GatewayConfig } from './gateway-config.js';

const DEFAULT_CONFIG_PATH = 'config/gateway.yaml';

/** Where the configuration comes from: `GATEWAY_CONFIG`, else `config/gateway.yaml`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.GATEWAY_CONFIG || DEFAULT_CONFIG_PATH);
}

/** Reads, substitutes, validates. Throws a ConfigError listing every problem; never returns a half-valid config. */
export function loadConfig(path = configPath(), env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return parseConfig(readDocument(path), env, path);
}

/**
 * The `audit` section alone, for tools that only read the audit store (`npm run audit:verify`): the rest of the file
 * is not validated, so the appliances' `${…}` secrets need not be in their environment.
 */
export function loadAuditConfig(path = configPath(), env: NodeJS.ProcessEnv = process.env): AuditConfig {
  const document = readDocument(path);
  if (!isMapping(document)) throw new ConfigError(path, ['(root): must be a mapping of configuration keys']);
  const { config, problems } = parseSection(AuditConfig, document.audit ?? {}, env, 'audit');
  if (problems.length === 0) problems.push(...auditProblems(config));
  if (problems.length > 0) throw new ConfigError(path, problems);
  return deepFreeze(config);
}

function readDocument(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  try {
    // js-yaml, not the yaml package: ~8x faster on a first parse (a fleet of 2,000 appliances: 41 ms against 322, at
    // every start), and already loaded (by @nestjs/swagger). YAML 1.2's core schema, as yaml's default: a date or a
    // `<<` merge key stays a plain value; a repeated key is an error, as there.
    return parseYaml(text, { schema: CORE_SCHEMA });
  } catch (error) {
    throw new ConfigError(path, [`not valid YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
}

export function parseConfig(document: unknown, env: NodeJS.ProcessEnv, source = '(inline)'): GatewayConfig {
  if (!isMapping(document)) throw new ConfigError(source, ['(root): must be a mapping of configuration keys']);
  const problems: string[] = [];
  const withPort = { ...document };
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (Number.isInteger(port)) withPort.port = port;
    else problems.push(`PORT (environment): must be an integer, got a non-number`);
  }
  const parsed = parseSection(GatewayConfig, withPort, env, '');
  problems.push(...parsed.problems);
  const broken = brokenPaths(problems);
  problems.push(...crossFieldProblems(parsed.config, broken));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze(parsed.config);
}

type Constructor<T = object> = new () => T;
type AnyClass = abstract new (...args: never) => unknown;
/** One rule of a property (class-validator does not export the class from its index). */
type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

/**
 * One section of the file (the whole file is the section GatewayConfig) as its class, with one problem per wrong
 * value, each naming its path and what is expected.
 */
function parseSection<T extends object>(
  type: Constructor<T>,
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: string,
): { config: T; problems: string[] } {
  if (!isMapping(value)) {
    return { config: new type(), problems: [`${path || '(root)'}: must be a mapping of keys, got ${kindOf(value)}`] };
  }
  const shapeProblems: string[] = [];
  const normalised = normalise(type, value, path, shapeProblems);
  const envProblems: string[] = [];
  const substituted = substituteEnv(normalised, env, envProblems, path) as Record<string, unknown>;
  const config = plainToInstance(type, substituted, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  // A value whose variable is unset, or whose section has the wrong shape, is reported once, for that reason alone.
  const reported = brokenPaths([...envProblems, ...shapeProblems]);
  const validation = flatten(errors, path).filter((problem) => !reported.under(pathOf(problem)));
  return { config, problems: [...envProblems, ...shapeProblems, ...validation] };
}

/**
 * What YAML makes of a section whose keys are all commented out is `null`: that means the defaults, as if the key
 * were absent, so every null value of a known key is dropped (an unknown key stays, to be reported). A section
 * written as a list is reported here: class-transformer would turn `fleet: [{…}]` into a list of sections, which
 * validates, and crashes the first request that reads it.
 */
function normalise(
  type: Constructor,
  document: Record<string, unknown>,
  path: string,
  problems: string[],
): Record<string, unknown> {
  const rules = rulesOf(type);
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document)) {
    const own = rules.get(key);
    const keyPath = join(path, key);
    if (own && value === null) continue;
    const section = own?.find((rule) => rule.type === 'nestedValidation');
    const sectionType = section && sectionClass(type, key);
    if (!section || !sectionType) {
      result[key] = value;
    } else if (section.each) {
      result[key] = Array.isArray(value)
        ? value.map((item, index) =>
            isMapping(item) ? normalise(sectionType, item, `${keyPath}[${index}]`, problems) : item,
          )
        : value;
    } else if (Array.isArray(value)) {
      problems.push(`${keyPath}: must be a mapping of keys, got a list`);
    } else {
      result[key] = isMapping(value) ? normalise(sectionType, value, keyPath, problems) : value;
    }
  }
  return result;
}

const rulesCache = new Map<AnyClass, Map<string, ValidationMetadata[]>>();

/** The class-validator rules of each property of a config class, in the order they are written in its source. */
function rulesOf(type: AnyClass): Map<string, ValidationMetadata[]> {
  let rules = rulesCache.get(type);
  if (!rules) {
    rules = new Map();
    // Decorators run bottom-up, so the storage holds each property's rules last-written first.
    for (const rule of getMetadataStorage().getTargetValidationMetadatas(type, '', true, false).reverse()) {
      rules.set(rule.propertyName, [...(rules.get(rule.propertyName) ?? []), rule]);
    }
    rulesCache.set(type, rules);
  }
  return rules;
}

const sectionCache = new Map<string, Constructor | undefined>();

/** The class of a nested section, as class-transformer's @Type names it (read through its public API). */
function sectionClass(type: Constructor, property: string): Constructor | undefined {
  const key = `${type.name}.${property}`;
  if (!sectionCache.has(key)) {
    const probe = (plainToInstance(type, { [property]: {} }) as Record<string, unknown>)[property];
    const found = probe !== null && typeof probe === 'object' ? (probe.constructor as Constructor) : undefined;
    sectionCache.set(key, found === Object ? undefined : found);
  }
  return sectionCache.get(key);
}

/** The validated configuration never changes: a reload (SIGHUP) validates a new one and replaces it whole. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function join(parent: string, property: string): string {
  if (/^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}

/** The path a problem line starts with (`appliances[0].url: must be …` → `appliances[0].url`). */
function pathOf(problem: string): string {
  return problem.slice(0, Math.max(0, problem.indexOf(': ')));
}

interface BrokenPaths {
  /** This path, or a section holding it, was reported. */
  under(path: string): boolean;
  /** Anything at, above or below this path was reported: a check reading it would build on a broken value. */
  touches(path: string): boolean;
}

function brokenPaths(problems: string[]): BrokenPaths {
  const paths = problems.map(pathOf);
  const contains = (outer: string, inner: string) =>
    outer === inner || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return {
    under: (path) => paths.some((broken) => contains(broken, path)),
    touches: (path) => paths.some((broken) => contains(broken, path) || contains(path, broken)),
  };
}

/**
 * One line per wrong value. class-validator reports every rule a value breaks: `timeoutMs: 10s` broke `isInt`,
 * `min` and `max` at once, three lines that contradict each other; a section that is not a mapping, or a list that
 * is missing, broke its element rules too. Here each property says once what it expects.
 */
function flatten(errors: ValidationError[], parent: string): string[] {
  const problems: string[] = [];
  // An unknown key that looks like a known one is a typo: the key it misspells is not reported missing as well.
  const misspelt = new Set<string>();
  for (const error of errors) {
    if (!error.constraints?.whitelistValidation) continue;
    const guess = closestKey(error.property, [...rulesOf(classOf(error)).keys()]);
    if (guess) misspelt.add(guess);
    problems.push(`${join(parent, error.property)}: unknown key${guess ? `; did you mean ${guess}?` : ''}`);
  }
  for (const error of errors) {
    if (error.constraints?.whitelistValidation) continue;
    if (misspelt.has(error.property) && error.value === undefined) continue;
    const path = join(parent, error.property);
    if (error.constraints) problems.push(`${path}: ${message(error)}`);
    else problems.push(...flatten(error.children ?? [], path));
  }
  return problems;
}

/** What one property expects, said once, whichever of its rules the value broke. */
function message(error: ValidationError): string {
  const failed = Object.keys(error.constraints ?? {});
  const value = error.value;
  if (/^\d+$/.test(error.property)) return `must be a mapping of keys, got ${kindOf(value)}`;
  const rules = rulesOf(classOf(error)).get(error.property) ?? [];
  const has = (name: string) => rules.some((rule) => ruleName(rule) === name && !rule.each);
  const expected = expectation(rules, error.property);
  if (value === undefined) return `required${expected ? `: ${expected}` : ''}`;
  const got = `, got ${kindOf(value)}`;
  if (has('isInt')) return `must be ${expected}${failed.includes('isInt') ? got : ''}`;
  if (['isBoolean', 'isArray', 'nestedValidation', 'isIn'].some((name) => failed.includes(name) && has(name))) {
    return `must be ${expected}${failed.includes('isIn') ? '' : got}`;
  }
  // A rule with its own message says what is expected better than a generic "must be a string".
  const custom = rules.find((rule) => typeof rule.message === 'string' && failed.includes(ruleName(rule)));
  if (custom) return stripProperty(error.constraints?.[ruleName(custom)] ?? '', error.property);
  if (failed.includes('isString')) return `must be text${got}`;
  if (failed.includes('minLength') && rules.find((rule) => ruleName(rule) === 'minLength')?.constraints[0] === 1) {
    return 'must not be empty';
  }
  const first = rules.map(ruleName).find((name) => failed.includes(name)) ?? failed[0];
  return stripProperty(error.constraints?.[first] ?? 'is not valid', error.property);
}

function classOf(error: ValidationError): AnyClass {
  return (error.target?.constructor ?? Object) as AnyClass;
}

function ruleName(rule: ValidationMetadata): string {
  return rule.type === 'nestedValidation' ? 'nestedValidation' : (rule.name ?? rule.type);
}

const UNITS: [RegExp, string][] = [
  [/Ms$/, 'milliseconds'],
  [/Seconds$/, 'seconds'],
  [/Minutes$/, 'minutes'],
  [/Hours$/, 'hours'],
  [/Days$/, 'days'],
  [/Mb$/, 'MB'],
];

/** "a whole number of milliseconds from 100 to 600000", "true or false", "a list": from the property's rules. */
function expectation(rules: ValidationMetadata[], property: string): string | undefined {
  const rule = (name: string) => rules.find((r) => ruleName(r) === name && !r.each);
  const each = (name: string) => rules.find((r) => ruleName(r) === name && r.each);
  if (rule('isInt')) {
    const unit = UNITS.find(([suffix]) => suffix.test(property))?.[1];
    const what = unit ? `a whole number of ${unit}` : 'an integer';
    const min = rule('min')?.constraints[0] as number | undefined;
    const max = rule('max')?.constraints[0] as number | undefined;
    if (min !== undefined && max !== undefined) return `${what} from ${min} to ${max}`;
    if (min !== undefined) return `${what}, at least ${min}`;
    return max !== undefined ? `${what}, at most ${max}` : what;
  }
  if (rule('isBoolean')) return 'true or false';
  const isIn = rule('isIn');
  if (isIn) return `one of ${(isIn.constraints[0] as string[]).join(', ')}`;
  if (rule('isArray') || each('nestedValidation')) {
    if (each('nestedValidation')) return 'a list of mappings ([] for none)';
    return each('isString') || each('matches') ? 'a list of strings' : 'a list';
  }
  if (rule('nestedValidation')) return 'a mapping of keys';
  const custom = rules.find((r) => typeof r.message === 'string' && r.message !== '');
  if (custom) return String(custom.message).replace(/^must be /, '');
  if (rule('isString')) return rule('minLength')?.constraints[0] === 1 ? 'non-empty text' : 'text';
  return undefined;
}

/** What the value is, never the value itself (it may be a secret). */
function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return 'true/false';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a number' : 'a fraction';
  return typeof value;
}

/** class-validator prefixes default messages with the property name; the path already says it. */
function stripProperty(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}

/** The known key an unknown one probably misspells: the same but for case, or at most two edits away. */
function closestKey(unknown: string, known: string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = key.toLowerCase() === unknown.toLowerCase() ? 0 : editDistance(unknown, key);
    if (distance <= Math.min(2, Math.floor(key.length / 3)) && (!best || distance < best.distance)) {
      best = { key, distance };
    }
  }
  return best?.key;
}

/** Levenshtein distance with adjacent transpositions (`applainces` is one edit from `appliances`). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * Rules across keys. Each runs only when the values it reads are valid: a check built on a value already reported
 * would only restate that problem, or contradict it.
 */
function crossFieldProblems(config: GatewayConfig, broken: BrokenPaths): string[] {
  const problems: string[] = [];
  const ok = (...paths: string[]) => paths.every((path) => !broken.touches(path));
  if (ok('auth')) problems.push(...authProblems(config));
  if (Array.isArray(config.appliances)) {
    const seen = new Map<string, number>();
    config.appliances.forEach((appliance, index) => {
      const path = `appliances[${index}]`;
      if (ok(`${path}.id`)) {
        if (seen.has(appliance.id)) {
          problems.push(
            `${path}.id: duplicate id ${appliance.id} (appliances[${seen.get(appliance.id)}] has it; ids must be unique)`,
          );
        } else {
          seen.set(appliance.id, index);
        }
      }
      if (ok(`${path}.tls`)) problems.push(...tlsProblems(appliance.tls, `${path}.tls`));
    });
  }
  if (ok('audit')) problems.push(...auditProblems(config.audit));
  if (ok('limits.reservedRunConnections', 'limits.upstreamConnections')) {
    if (config.limits.reservedRunConnections >= config.limits.upstreamConnections) {
      problems.push('limits.reservedRunConnections: must be less than limits.upstreamConnections (reads need some)');
    }
  }
  if (ok('requestTimeoutMs', 'headersTimeoutMs') && config.requestTimeoutMs < config.headersTimeoutMs) {
    // Node refuses to create the server otherwise (ERR_OUT_OF_RANGE): the headers are part of the request.
    problems.push(
      `requestTimeoutMs: must be at least headersTimeoutMs (${config.headersTimeoutMs}): the whole request includes its headers; raise requestTimeoutMs or lower headersTimeoutMs`,
    );
  }
  if (ok('metrics.port', 'port')) {
    if (config.metrics.port !== undefined && config.metrics.port === config.port && config.port !== 0) {
      problems.push('metrics.port: must differ from port (leave it unset to serve /metrics on the main port)');
    }
  }
  if (ok('defaultAppliance', 'appliances') && config.defaultAppliance !== undefined) {
    if (!config.appliances.some((a) => a.id === config.defaultAppliance)) {
      problems.push(`defaultAppliance: ${config.defaultAppliance} is not one of the configured appliances`);
    }
  }
  if (ok('console', 'auth', 'redis')) problems.push(...consoleConfigProblems(config));
  if (ok('notifications', 'publicUrl', 'console.publicUrl', 'audit.store')) {
    problems.push(...notificationProblems(config));
  }
  return problems;
}

function authProblems(config: GatewayConfig): string[] {
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
  return problems;
}

/** A CA file that holds no certificate would fail every connection to the appliance, each with a TLS error. */
function tlsProblems(tls: GatewayConfig['appliances'][number]['tls'], path: string): string[] {
  const problems: string[] = [];
  const caFile = tls.caFile;
  if (caFile !== undefined) {
    let content: Buffer | undefined;
    try {
      content = readFileSync(caFile);
    } catch (error) {
      problems.push(`${path}.caFile: cannot read ${caFile} (${(error as NodeJS.ErrnoException).code})`);
    }
    if (content) {
      const problem = caFileProblem(content);
      if (problem) problems.push(`${path}.caFile: ${caFile} ${problem}`);
    }
  }
  if (tls.insecure && (tls.fingerprint || caFile)) {
    problems.push(`${path}.insecure: cannot be combined with caFile or fingerprint`);
  }
  return problems;
}

/**
 * Only the marker is looked for: a block that does not parse is left to fail at connection time, because the
 * Kubernetes template's placeholder (deploy/kubernetes/vmca-root.yaml) quotes the markers and must validate as shipped.
 */
function caFileProblem(content: Buffer): string | undefined {
  if (content.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) return undefined;
  try {
    new X509Certificate(content);
    return 'holds a DER certificate; convert it to PEM: openssl x509 -inform der -in FILE -out FILE.pem';
  } catch {
    return "holds no PEM certificate (-----BEGIN CERTIFICATE-----): it must hold the appliance's CA (its VMCA root) in PEM";
  }
}

function auditProblems(audit: AuditConfig): string[] {
  if (audit.store === 'postgres' && audit.postgres === undefined) {
    return ['audit.postgres.url: required when audit.store is postgres'];
  }
  return [];
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

/** Standard Webhooks keys are 24 to 64 random bytes (its libraries generate 32). */
const WEBHOOK_KEY_BYTES = { min: 24, max: 64 };

function notificationProblems(config: GatewayConfig): string[] {
  const webhooks = config.notifications.webhooks;
  if (webhooks.length === 0) return [];
  const problems: string[] = [];
  if (config.audit.store === 'off') {
    problems.push(
      'notifications.webhooks: needs audit.store sqlite or postgres (the notifications wait in its outbox until delivered)',
    );
  }
  if (config.publicUrl === undefined && config.console.publicUrl === undefined) {
    problems.push(
      "publicUrl: required with notifications.webhooks (the gateway's URL, every notification's CloudEvents source)",
    );
  }
  const ids = new Map<string, number>();
  webhooks.forEach((webhook, index) => {
    const path = `notifications.webhooks[${index}]`;
    const first = ids.get(webhook.id);
    if (first !== undefined) {
      problems.push(
        `${path}.id: duplicate id ${webhook.id} (notifications.webhooks[${first}] has it; ids must be unique)`,
      );
    } else {
      ids.set(webhook.id, index);
    }
    // Never the secret itself in the message: only what is wrong with it.
    const bytes = Buffer.from(webhook.secret.slice('whsec_'.length), 'base64').length;
    if (bytes < WEBHOOK_KEY_BYTES.min || bytes > WEBHOOK_KEY_BYTES.max) {
      problems.push(
        `${path}.secret: must hold ${WEBHOOK_KEY_BYTES.min} to ${WEBHOOK_KEY_BYTES.max} bytes after whsec_ (it holds ${bytes}); generate one with: echo whsec_$(openssl rand -base64 32)`,
      );
    }
  });
  return problems;
}
