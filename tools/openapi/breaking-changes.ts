/**
 * What in a new OpenAPI document can break a client written against the released one (the README's "API stability"):
 * - a path or an operation removed;
 * - a parameter removed (the gateway refuses unknown query parameters), newly required, or narrowed;
 * - a request body newly required; a body field removed (unknown fields are refused) or newly required;
 * - a request value narrowed: an enum where there was none, enum values removed, a numeric range, length or item
 *   count narrowed, a pattern added or changed, null no longer accepted;
 * - a success status, a success response header or a response media type removed;
 * - a response field removed, no longer always present, or newly nullable;
 * - a type changed (integer→number is a widening for requests, number→integer for responses).
 * Not breaking: anything added that a client may ignore (paths, optional parameters and fields, statuses, headers,
 * error codes, enum values in answers), an error status no longer produced, descriptions and examples.
 */

export interface OpenApiDocument {
  info: { version: string };
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown> | undefined>;
}

interface Schema {
  $ref?: string;
  allOf?: Schema[];
  type?: string;
  enum?: unknown[];
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
}

interface MediaTypes {
  content?: Record<string, { schema?: Schema }>;
}

interface RequestBody extends MediaTypes {
  required?: boolean;
}

interface Response extends MediaTypes {
  headers?: Record<string, unknown>;
}

interface Operation {
  parameters?: (Parameter | { $ref: string })[];
  requestBody?: RequestBody | { $ref: string };
  responses?: Record<string, Response | { $ref: string }>;
}

type Direction = 'request' | 'response';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every change from `before` to `after` that can break a client of `before`, one sentence each. */
export function breakingChanges(before: OpenApiDocument, after: OpenApiDocument): string[] {
  const found: string[] = [];
  const compare = new SchemaComparison(before, after, found);
  for (const [path, beforeItem] of Object.entries(before.paths)) {
    const afterItem = after.paths[path];
    if (afterItem === undefined) {
      found.push(`${path}: path removed`);
      continue;
    }
    for (const method of METHODS.filter((m) => beforeItem[m] !== undefined)) {
      const where = `${method.toUpperCase()} ${path}`;
      const afterOperation = afterItem[method] as Operation | undefined;
      if (afterOperation === undefined) found.push(`${where}: operation removed`);
      else compareOperations(where, beforeItem[method] as Operation, afterOperation, compare, found);
    }
  }
  return found;
}

/**
 * Problems with releasing `current` after `released`: empty when it is compatible, or when its major version was
 * raised; otherwise each breaking change and what to do.
 */
export function compatibilityProblems(released: OpenApiDocument, current: OpenApiDocument): string[] {
  const [releasedMajor, currentMajor] = [major(released.info.version), major(current.info.version)];
  if (currentMajor < releasedMajor) {
    return [`info.version ${current.info.version} is older than the released ${released.info.version}`];
  }
  if (currentMajor > releasedMajor) return [];
  const changes = breakingChanges(released, current);
  if (changes.length === 0) return [];
  return [
    ...changes,
    `These break clients of version ${released.info.version}: undo them, or raise the major of info.version ` +
      "(API_VERSION in src/openapi.ts) and tell portal teams (the README's section API stability).",
  ];
}

function major(version: string): number {
  const value = Number.parseInt(version.split('.')[0] ?? '', 10);
  if (Number.isNaN(value)) throw new Error(`info.version ${version} does not start with a major version number`);
  return value;
}

function compareOperations(
  where: string,
  before: Operation,
  after: Operation,
  compare: SchemaComparison,
  found: string[],
): void {
  const beforeParameters = parameters(compare.before, before);
  const afterParameters = parameters(compare.after, after);
  for (const [key, parameter] of afterParameters) {
    const old = beforeParameters.get(key);
    if (parameter.required === true && old?.required !== true) found.push(`${where}: parameter ${key} is now required`);
  }
  for (const [key, parameter] of beforeParameters) {
    const now = afterParameters.get(key);
    if (now === undefined) found.push(`${where}: parameter ${key} removed`);
    else compare.schemas(`${where}: parameter ${key}`, parameter.schema, now.schema, 'request');
  }

  const beforeBody = resolveRef<RequestBody>(compare.before, before.requestBody);
  const afterBody = resolveRef<RequestBody>(compare.after, after.requestBody);
  if (afterBody?.required === true && beforeBody?.required !== true) found.push(`${where}: request body now required`);
  compareContent(`${where}: request body`, beforeBody, afterBody, 'request', compare, found);

  for (const [status, beforeResponse] of Object.entries(before.responses ?? {})) {
    const afterResponse = resolveRef<Response>(compare.after, after.responses?.[status]);
    const success = status.startsWith('2');
    if (afterResponse === undefined) {
      if (success) found.push(`${where}: response ${status} removed`);
      continue;
    }
    const old = resolveRef<Response>(compare.before, beforeResponse);
    if (success) {
      for (const header of Object.keys(old?.headers ?? {})) {
        if (afterResponse.headers?.[header] === undefined)
          found.push(`${where}: response ${status} header ${header} removed`);
      }
    }
    compareContent(`${where}: response ${status}`, old, afterResponse, 'response', compare, found);
  }
}

function compareContent(
  where: string,
  before: MediaTypes | undefined,
  after: MediaTypes | undefined,
  direction: Direction,
  compare: SchemaComparison,
  found: string[],
): void {
  for (const [mediaType, media] of Object.entries(before?.content ?? {})) {
    const now = after?.content?.[mediaType];
    if (now === undefined) found.push(`${where}: media type ${mediaType} removed`);
    else compare.schemas(`${where} (${mediaType})`, media.schema, now.schema, direction);
  }
}

/** An operation's parameters by `in:name` (header names lower-cased: HTTP does not distinguish them). */
function parameters(document: OpenApiDocument, operation: Operation): Map<string, Parameter> {
  const byKey = new Map<string, Parameter>();
  for (const item of operation.parameters ?? []) {
    const parameter = resolveRef<Parameter>(document, item);
    if (parameter === undefined) continue;
    const name = parameter.in === 'header' ? parameter.name.toLowerCase() : parameter.name;
    byKey.set(`${parameter.in}:${name}`, parameter);
  }
  return byKey;
}

/** Follows a local `$ref` (`#/components/{kind}/{name}`); anything else is returned as it is. */
function resolveRef<T>(document: OpenApiDocument, value: T | { $ref: string } | undefined): T | undefined {
  if (value === undefined || value === null || typeof value !== 'object' || !('$ref' in value)) return value;
  const [, , kind, name] = value.$ref.split('/');
  return document.components?.[kind]?.[name] as T | undefined;
}

class SchemaComparison {
  /** Pairs of schema objects already compared: a recursive schema meets the same pair again, and ends there. */
  private readonly seen = new Map<Schema, Set<Schema>>();

  constructor(
    readonly before: OpenApiDocument,
    readonly after: OpenApiDocument,
    private readonly found: string[],
  ) {}

  schemas(where: string, beforeSchema: Schema | undefined, afterSchema: Schema | undefined, direction: Direction) {
    if (beforeSchema === undefined || afterSchema === undefined) return;
    const pairs = this.seen.get(beforeSchema) ?? new Set<Schema>();
    if (pairs.has(afterSchema)) return;
    this.seen.set(beforeSchema, pairs.add(afterSchema));
    const before = this.flatten(this.before, beforeSchema);
    const after = this.flatten(this.after, afterSchema);
    if (before === undefined || after === undefined) return;
    const report = (what: string) => this.found.push(`${where}: ${what}`);

    if (before.type !== undefined && after.type !== undefined && before.type !== after.type) {
      const widened = direction === 'request' ? ['integer', 'number'] : ['number', 'integer'];
      if (before.type !== widened[0] || after.type !== widened[1]) {
        report(`type changed from ${before.type} to ${after.type}`);
        return;
      }
    }
    if (direction === 'request') narrowedInput(before, after, report);
    else narrowedOutput(before, after, report);

    for (const [name, property] of Object.entries(before.properties ?? {})) {
      const now = after.properties?.[name];
      if (now !== undefined) this.schemas(`${where}.${name}`, property, now, direction);
    }
    if (before.items !== undefined && after.items !== undefined) {
      this.schemas(`${where}[]`, before.items, after.items, direction);
    }
  }

  /** The schema itself, with `$ref`s followed and `allOf` parts merged (Nest wraps a `$ref` with siblings in one). */
  private flatten(document: OpenApiDocument, schema: Schema | undefined): Schema | undefined {
    if (schema === undefined) return undefined;
    if (schema.$ref !== undefined) {
      const [, , , name] = schema.$ref.split('/');
      return this.flatten(document, document.components?.schemas?.[name] as Schema | undefined);
    }
    if (schema.allOf === undefined) return schema;
    const { allOf, ...merged } = schema;
    for (const part of allOf.map((item) => this.flatten(document, item) ?? {})) {
      for (const [key, value] of Object.entries(part)) {
        if (!(key in merged)) Object.assign(merged, { [key]: value });
      }
      merged.properties = { ...part.properties, ...merged.properties };
      merged.required = [...(part.required ?? []), ...(merged.required ?? [])];
    }
    return merged;
  }
}

/** A value a client sends: narrowing what is accepted breaks the clients that sent what no longer is. */
function narrowedInput(before: Schema, after: Schema, report: (what: string) => void): void {
  if (before.enum === undefined && after.enum !== undefined) report(`now restricted to ${after.enum.join(', ')}`);
  const removed = (before.enum ?? []).filter((value) => after.enum !== undefined && !after.enum.includes(value));
  if (removed.length > 0) report(`no longer accepts ${removed.join(', ')}`);
  const bounds = [
    ['minimum', 'raised'],
    ['maximum', 'lowered'],
    ['minLength', 'raised'],
    ['maxLength', 'lowered'],
    ['minItems', 'raised'],
    ['maxItems', 'lowered'],
  ] as const;
  for (const [bound, narrowing] of bounds) {
    const [was, now] = [before[bound], after[bound]];
    if (now === undefined || now === was) continue;
    if (was === undefined || (narrowing === 'raised' ? now > was : now < was)) {
      report(`${bound} ${narrowing} from ${was ?? 'none'} to ${now}`);
    }
  }
  if (after.pattern !== undefined && after.pattern !== before.pattern) report(`pattern now ${after.pattern}`);
  if (before.nullable === true && after.nullable !== true) report('no longer accepts null');
  for (const name of Object.keys(before.properties ?? {})) {
    if (after.properties?.[name] === undefined) report(`field ${name} removed (a client still sending it is refused)`);
  }
  for (const name of after.required ?? []) {
    if (!(before.required ?? []).includes(name)) report(`field ${name} is now required`);
  }
}

/** A value a client receives: what it reads must stay there, and keep its shape. */
function narrowedOutput(before: Schema, after: Schema, report: (what: string) => void): void {
  if (before.nullable !== true && after.nullable === true) report('may now be null');
  for (const name of Object.keys(before.properties ?? {})) {
    if (after.properties?.[name] === undefined) report(`field ${name} removed`);
    else if ((before.required ?? []).includes(name) && !(after.required ?? []).includes(name)) {
      report(`field ${name} is no longer always present`);
    }
  }
}
