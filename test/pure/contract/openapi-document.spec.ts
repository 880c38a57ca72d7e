/**
 * The OpenAPI document as the code builds it (the one /docs-json serves: openapi-served.e2e-spec.ts): valid for
 * swagger-parser and Redocly's recommended rules, and right about each thing portals and generated clients rely on.
 */
import { createRequire } from 'node:module';
import type { OpenAPIObject, ParameterObject, ReferenceObject, RequestBodyObject } from '@nestjs/swagger';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { openApiFromCode } from '../../../src/openapi-export.js';
import { PROBLEM_CODES, PROBLEM_TABLE, type ProblemCode } from '../../../src/problems/problem-codes.js';
import { exampleCodes, operation, operations, response, responses, schemasIn } from '../../support/openapi-walk.js';

const require = createRequire(import.meta.url);
const SwaggerParser = require('@apidevtools/swagger-parser') as { validate(api: object): Promise<unknown> };

const RUN_ROUTES = ['runSchedule', 'runScheduleOnDefaultAppliance', 'runFleet'];
/** Redocly's recommended warnings we accept: no licence to name; health routes have no 4xx to document. */
const ACCEPTED_WARNINGS = ['info-license', 'operation-4xx-response #/paths/~1health~1'];

let document: OpenAPIObject;
beforeAll(async () => {
  document = await openApiFromCode();
});

function parameters(operationId: string): ParameterObject[] {
  return (operation(document, operationId).parameters ?? []).map((parameter) =>
    '$ref' in parameter ? resolve<ParameterObject>(parameter) : parameter,
  );
}

function resolve<T>(reference: ReferenceObject): T {
  const [, , kind, name] = reference.$ref.split('/');
  return (document.components as Record<string, Record<string, T>>)[kind][name];
}

describe('the OpenAPI document', () => {
  it('is valid for @apidevtools/swagger-parser (schema and spec rules)', async () => {
    await expect(SwaggerParser.validate(structuredClone(document))).resolves.toBeDefined();
  });

  it("has no error under Redocly's recommended rules, and no warning but the accepted ones", async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: 'openapi.json', config });
    const described = problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
    expect(described.filter((line) => line.startsWith('error'))).toEqual([]);
    const unexpected = described.filter((line) => !ACCEPTED_WARNINGS.some((w) => line.startsWith(`warn ${w}`)));
    expect(unexpected).toEqual([]);
  });

  it('names a server (relative: the gateway that serves it), so Swagger UI and clients know where to call', () => {
    expect(document.servers).toEqual([{ url: '/', description: 'This gateway' }]);
  });

  it('marks the public routes with `security: []` and every other with both schemes', () => {
    for (const { path, operation: op } of operations(document)) {
      if (path.startsWith('/health/')) expect(op.security).toEqual([]);
      else expect(op.security).toEqual(expect.arrayContaining([{ jwt: [] }, { apiKey: [] }]));
    }
  });

  it('makes the single-run body optional (a run without a comment needs none) and the fleet body required', () => {
    const body = (operationId: string) => operation(document, operationId).requestBody as RequestBodyObject;
    expect(body('runSchedule').required).toBe(false);
    expect(body('runScheduleOnDefaultAppliance').required).toBe(false);
    expect(body('runFleet').required).toBe(true);
  });

  it('types `limit` as a bounded integer, and no parameter as an object', () => {
    const limit = (operationId: string) => parameters(operationId).find((p) => p.name === 'limit')?.schema;
    expect(limit('listJobs')).toEqual({ type: 'integer', minimum: 1, maximum: 100, default: 10 });
    expect(limit('listAuditEvents')).toEqual({ type: 'integer', minimum: 1, maximum: 500, default: 50 });
    for (const { operation: op } of operations(document)) {
      for (const parameter of op.parameters ?? []) {
        const schema = ('$ref' in parameter ? resolve<ParameterObject>(parameter) : parameter).schema;
        expect(JSON.stringify(schema)).not.toMatch(/"object"|components\/schemas\/Object/);
      }
    }
    expect(Object.keys(document.components?.schemas ?? {})).not.toContain('Object');
  });

  it('documents the 503 of /health/ready as a SERVICE_UNAVAILABLE problem, and its 200', () => {
    expect(Object.keys(operation(document, 'ready').responses).sort()).toEqual(['200', '503']);
    expect(exampleCodes(document, 'ready', '503')).toEqual(['SERVICE_UNAVAILABLE']);
    const ok = response(document, 'ready', '200').content?.['application/json']?.schema as {
      properties: Record<string, unknown>;
    };
    expect(ok.properties.status).toEqual({ type: 'string', enum: ['ok'] });
  });

  it('gives the event stream the text/event-stream media type, and only that', () => {
    expect(Object.keys(response(document, 'watchJob', '200').content ?? {})).toEqual(['text/event-stream']);
  });

  it('has no fractional numbers: every count, status and progress is an integer', () => {
    const numbers = schemasIn(document).filter(({ schema }) => schema.type === 'number');
    expect(numbers.map(({ pointer }) => pointer)).toEqual([]);
    const schemas = document.components?.schemas as Record<string, { properties: Record<string, { type: string }> }>;
    expect(schemas.ProblemDocument.properties.status.type).toBe('integer');
    expect(schemas.FleetRunResultDto.properties.status.type).toBe('integer');
    expect(schemas.JobDto.properties.progress.type).toBe('integer');
  });

  it("gives every problem response one example per code its status can carry, each with that code's own values", () => {
    const problemResponses = responses(document).filter(
      ({ response }) => response.content?.['application/problem+json'],
    );
    expect(problemResponses.length).toBeGreaterThan(50);
    for (const { where, status, response } of problemResponses) {
      const media = response.content?.['application/problem+json'];
      expect(media?.schema).toEqual({ $ref: '#/components/schemas/ProblemDocument' });
      const codes = Object.keys(media?.examples ?? {}) as ProblemCode[];
      expect([where, codes.length > 0]).toEqual([where, true]);
      for (const code of codes) {
        const example = resolve<{ value: Record<string, unknown> }>(media?.examples?.[code] as ReferenceObject);
        expect(example.value).toMatchObject({ code, status: Number(status), title: PROBLEM_TABLE[code].title });
      }
      // A status stands for all its codes unless the route names some; either way the description lists them.
      expect(response.description).toBe(`Problem document (RFC 9457); code: ${codes.join(' | ')}`);
    }
    expect(exampleCodes(document, 'runSchedule', '404').sort()).toEqual(
      PROBLEM_CODES.filter((code) => PROBLEM_TABLE[code].status === 404).sort(),
    );
    const examples = Object.values(document.components?.examples ?? {}) as { value: { code: string } }[];
    expect(new Set(examples.map((example) => example.value.code)).size).toBe(examples.length);
  });

  it('documents X-Request-Id on every request and every response', () => {
    for (const { operation: op } of operations(document)) {
      expect(op.parameters).toContainEqual({ $ref: '#/components/parameters/RequestId' });
    }
    for (const { response } of responses(document)) {
      expect(response.headers?.['X-Request-Id']).toEqual({ $ref: '#/components/headers/RequestId' });
    }
    expect(document.components?.parameters?.RequestId).toMatchObject({ name: 'X-Request-Id', in: 'header' });
  });

  it('documents Retry-After on every 429 and 503, on a 409 that can be IDEMPOTENCY_REQUEST_IN_PROGRESS, and nowhere else', () => {
    for (const { where, status, response } of responses(document)) {
      const retryAfter = response.headers?.['Retry-After'];
      const inProgress = status === '409' && (response.description ?? '').includes('IDEMPOTENCY_REQUEST_IN_PROGRESS');
      if (status === '429' || status === '503' || inProgress) {
        expect([where, retryAfter]).toEqual([where, { $ref: '#/components/headers/RetryAfter' }]);
      } else expect([where, retryAfter]).toEqual([where, undefined]);
    }
    expect(document.components?.headers?.RetryAfter).toMatchObject({ schema: { type: 'integer' } });
  });

  it('documents Location on 202, and Idempotency-Key / Idempotent-Replayed on the three run routes only', () => {
    for (const operationId of ['runSchedule', 'runScheduleOnDefaultAppliance']) {
      const headers = response(document, operationId, '202').headers ?? {};
      expect(headers.Location).toMatchObject({ required: true, schema: { type: 'string' } });
      expect(headers['Idempotent-Replayed']).toMatchObject({ schema: { type: 'string', enum: ['true'] } });
    }
    expect(response(document, 'runFleet', '207').headers?.['Idempotent-Replayed']).toBeDefined();
    for (const { operation: op } of operations(document)) {
      const names = (op.parameters ?? []).map((p) => ('$ref' in p ? resolve<ParameterObject>(p) : p).name);
      expect([op.operationId, names.includes('Idempotency-Key')]).toEqual([
        op.operationId,
        RUN_ROUTES.includes(op.operationId ?? ''),
      ]);
    }
  });

  it('lists the idempotency and rate-limit codes where the run routes can answer with them', () => {
    const examples = (operationId: string, status: string) => exampleCodes(document, operationId, status);
    for (const operationId of RUN_ROUTES) {
      expect(examples(operationId, '409')).toContain('IDEMPOTENCY_REQUEST_IN_PROGRESS');
      expect(examples(operationId, '422')).toContain('IDEMPOTENCY_KEY_REUSED');
      expect(examples(operationId, '429')).toEqual(['TOO_MANY_REQUESTS', 'RATE_LIMITED']);
    }
    expect(examples('runFleet', '409')).toEqual(['IDEMPOTENCY_REQUEST_IN_PROGRESS']);
  });

  it('gives answer values that may grow as x-extensible-enum, never a closed enum that strict generators would fail on', () => {
    const schemas = document.components?.schemas as Record<string, SchemaLike>;
    const extensible: Record<string, SchemaLike> = {
      ProblemCode: schemas.ProblemCode,
      'ApplianceDto.status': schemas.ApplianceDto.properties?.status ?? {},
      'AuditActorDto.authMethod': schemas.AuditActorDto.properties?.authMethod ?? {},
      'AuditEventDto.action': schemas.AuditEventDto.properties?.action ?? {},
      'AuditEventDto.outcome': schemas.AuditEventDto.properties?.outcome ?? {},
      'AuditEventDto.finalOutcome': schemas.AuditEventDto.properties?.finalOutcome ?? {},
      'AuditFirstBadDto.reason': schemas.AuditFirstBadDto.properties?.reason ?? {},
      'JobDto.state': schemas.JobDto.properties?.state ?? {},
    };
    for (const [name, schema] of Object.entries(extensible)) {
      expect({ name, type: schema.type, enum: schema.enum }).toEqual({ name, type: 'string', enum: undefined });
      expect({ name, values: schema['x-extensible-enum'] }).toEqual({ name, values: expect.arrayContaining([]) });
      expect((schema['x-extensible-enum'] as unknown[]).length).toBeGreaterThan(1);
    }
    expect(extensible.ProblemCode['x-extensible-enum']).toEqual(PROBLEM_CODES);
    // Every other enum of an answer is closed on purpose: an entry is requested or completed, nothing else.
    const closed = Object.entries(schemas).flatMap(([name, schema]) =>
      Object.entries(schema.properties ?? {})
        .filter(([, property]) => property.enum !== undefined)
        .map(([property]) => `${name}.${property}`),
    );
    expect(closed).toEqual(['AuditEventDto.stage']);
  });

  it('keeps a nullable enum nullable (a closed nullable enum would list null), and names no schema after a status code', () => {
    const schemas = document.components?.schemas as Record<string, SchemaLike>;
    expect(schemas.AuditEventDto.properties?.outcome).toMatchObject({ type: 'string', nullable: true });
    for (const { schema } of schemasIn(document)) {
      const { nullable, enum: values } = schema as SchemaLike;
      if (nullable === true && values !== undefined) expect(values).toContain(null);
    }
    expect(Object.keys(schemas).filter((name) => /\d{3}$/.test(name))).toEqual([]);
  });
});

interface SchemaLike {
  type?: string;
  enum?: unknown[];
  nullable?: boolean;
  properties?: Record<string, SchemaLike>;
  'x-extensible-enum'?: unknown;
}
