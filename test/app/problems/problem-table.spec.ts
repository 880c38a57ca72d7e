import { buildOpenApiDocument } from '../../../src/openapi.js';
import { GatewayError } from '../../../src/problems/gateway-error.js';
import { PROBLEM_CODES, PROBLEM_TABLE, type ProblemCode, problemType } from '../../../src/problems/problem-codes.js';
import { problemDocument } from '../../../src/problems/problem-document.js';
import { type ProbeApp, startProbeApp } from '../../support/probe-app.js';

describe('the problem table', () => {
  it('every code has a status of an error and a title of its own', () => {
    expect(PROBLEM_CODES).toEqual(Object.keys(PROBLEM_TABLE));
    const titles = PROBLEM_CODES.map((code) => PROBLEM_TABLE[code].title);
    for (const code of PROBLEM_CODES) {
      const { status, title } = PROBLEM_TABLE[code];
      expect({ code, status: status >= 400 && status < 600, title: title.length > 10 }).toEqual({
        code,
        status: true,
        title: true,
      });
    }
    expect(new Set(titles).size).toBe(titles.length);
  });

  it('problem types are relative URIs derived from the code', () => {
    expect(problemType('BACKUP_IN_PROGRESS')).toBe('/problems/backup-in-progress');
    expect(problemType('APPLIANCE_TLS_ERROR')).toBe('/problems/appliance-tls-error');
    expect(problemType('FORBIDDEN')).toBe('/problems/forbidden');
  });

  it('a GatewayError carries its code’s status, says code and detail in its message, and keeps its cause', () => {
    const cause = new Error('ECONNRESET');
    const error = new GatewayError('APPLIANCE_TIMEOUT', 'No answer.', { cause });
    expect(error).toMatchObject({ name: 'GatewayError', status: 504, message: 'APPLIANCE_TIMEOUT: No answer.' });
    expect(error.cause).toBe(cause);
    expect(new GatewayError('FORBIDDEN', 'No.')).not.toHaveProperty('cause');
    expect(new GatewayError('FORBIDDEN', 'No.').details).toEqual({});
  });

  it('the document holds only what a caller may see; optional members only when present', () => {
    const upstream = { status: 400, errorType: 'FEATURE_IN_USE', messages: [] };
    const errors = [{ field: 'comment', message: 'too long' }];
    const full = new GatewayError('BACKUP_IN_PROGRESS', 'Busy.', {
      appliance: 'vc-a',
      upstream,
      errors,
      retryAfter: 3,
      mayHaveStarted: false,
      cause: new Error('internal'),
    });
    expect(problemDocument(full, '/x', 'req-1')).toEqual({
      type: '/problems/backup-in-progress',
      title: PROBLEM_TABLE.BACKUP_IN_PROGRESS.title,
      status: 409,
      detail: 'Busy.',
      instance: '/x',
      code: 'BACKUP_IN_PROGRESS',
      requestId: 'req-1',
      appliance: 'vc-a',
      errors,
      upstream,
    });
    expect(Object.keys(problemDocument(new GatewayError('FORBIDDEN', 'No.'), '/y', 'req-2'))).toEqual([
      'type',
      'title',
      'status',
      'detail',
      'instance',
      'code',
      'requestId',
    ]);
  });

  it('names the busy backup target, and says when a run may have started', () => {
    const busy = new GatewayError('TARGET_BUSY', 'Full.', { appliance: 'vc-a', target: 'sftp://nas-1' });
    expect(problemDocument(busy, '/x', 'req-3')).toMatchObject({ appliance: 'vc-a', target: 'sftp://nas-1' });
    const unsure = new GatewayError('APPLIANCE_TIMEOUT', 'Late.', { appliance: 'vc-a', mayHaveStarted: true });
    expect(problemDocument(unsure, '/x', 'req-4')).toMatchObject({ mayHaveStarted: true });
  });
});

/** The OpenAPI document shows callers the same table the filter applies. */
describe('problems in the OpenAPI document', () => {
  let probe: ProbeApp;
  // biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is walked as plain JSON
  let document: any;

  beforeAll(async () => {
    probe = await startProbeApp({ apiKeys: [{ id: 'unused', sha256: '0'.repeat(64), scopes: [] }] });
    document = JSON.parse(JSON.stringify(buildOpenApiDocument(probe.app)));
  });
  afterAll(() => probe.close());

  it('routes behind a scope list their 401 and 403 problems with the codes each can carry, and both credentials', () => {
    const operation = document.paths['/list'].get;
    for (const [status, codes] of [
      ['401', ['UNAUTHENTICATED']],
      ['403', ['FORBIDDEN']],
    ] as const) {
      const response = operation.responses[status];
      expect(response.description).toBe(`Problem document (RFC 9457); code: ${codes.join(' | ')}`);
      expect(response.content['application/problem+json'].schema).toEqual({
        $ref: '#/components/schemas/ProblemDocument',
      });
    }
    expect(operation.security).toEqual(expect.arrayContaining([{ jwt: [] }, { apiKey: [] }]));
  });

  it('a status several codes share lists every one of them, in the table’s order', () => {
    const responses = document.paths['/fail/gateway'].get.responses;
    expect(responses['502'].description).toBe(
      'Problem document (RFC 9457); code: APPLIANCE_AUTH_FAILED | APPLIANCE_PERMISSION_DENIED | APPLIANCE_ERROR | APPLIANCE_TLS_ERROR',
    );
    expect(responses['503'].description).toBe(
      'Problem document (RFC 9457); code: APPLIANCE_UNAVAILABLE | AUDIT_UNAVAILABLE | OVERLOADED | SERVICE_UNAVAILABLE',
    );
  });

  it('the ProblemDocument schema’s examples form one consistent problem of the table', () => {
    const schema = document.components.schemas.ProblemDocument;
    const example = (name: string) => schema.properties[name].example;
    const code = example('code') as ProblemCode;
    expect(PROBLEM_CODES).toContain(code);
    expect(schema.properties.code.allOf).toEqual([{ $ref: '#/components/schemas/ProblemCode' }]);
    expect(document.components.schemas.ProblemCode['x-extensible-enum']).toEqual(PROBLEM_CODES);
    expect(example('type')).toBe(problemType(code));
    expect(example('title')).toBe(PROBLEM_TABLE[code].title);
    expect(example('status')).toBe(PROBLEM_TABLE[code].status);
    expect(example('instance')).toMatch(/^\/appliances\/vc-a\//);
    expect(example('appliance')).toBe('vc-a');
    expect(example('detail')).toMatch(/vc-a/);
    expect(example('requestId')).toMatch(/^[0-9a-f-]{36}$/);
    expect(schema.required).toEqual(['type', 'title', 'status', 'detail', 'instance', 'code', 'requestId']);
  });

  it('the ProblemDocument schema: each member’s type, nested schemas by reference', () => {
    const { properties } = document.components.schemas.ProblemDocument;
    const shape = Object.fromEntries(
      Object.entries(properties as Record<string, Record<string, unknown>>).map(([name, p]) => [
        name,
        p.$ref ??
          (p.allOf as { $ref: string }[] | undefined)?.[0].$ref ??
          (p.items ? `${p.type} of ${(p.items as { $ref: string }).$ref}` : p.type),
      ]),
    );
    expect(shape).toEqual({
      type: 'string',
      title: 'string',
      status: 'integer',
      detail: 'string',
      instance: 'string',
      code: '#/components/schemas/ProblemCode',
      requestId: 'string',
      appliance: 'string',
      target: 'string',
      errors: 'array of #/components/schemas/FieldErrorDto',
      upstream: '#/components/schemas/UpstreamDto',
      mayHaveStarted: 'boolean',
    });
    const schemas = document.components.schemas;
    expect(schemas.UpstreamDto.properties.status.type).toBe('integer');
    expect(schemas.UpstreamDto.properties.messages.items).toEqual({ $ref: '#/components/schemas/UpstreamMessageDto' });
    expect(schemas.UpstreamMessageDto.properties.args).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect(schemas.UpstreamDto.required).toEqual(['status', 'messages']);
  });

  it('nested schemas document what the appliance said and which field failed, with examples of each', () => {
    const schemas = document.components.schemas;
    const upstream = schemas.UpstreamDto.properties;
    expect(upstream.status.description).toMatch(/HTTP status/);
    expect(upstream.errorType).toMatchObject({
      example: 'FEATURE_IN_USE',
      description: expect.stringMatching(/error_type/),
    });
    expect(schemas.UpstreamMessageDto.properties.id.example).toMatch(/^com\.vmware\./);
    expect(schemas.UpstreamMessageDto.properties.message.example).toMatch(/backup/i);
    expect(schemas.FieldErrorDto.properties.field.example).toBe('comment');
    expect(schemas.FieldErrorDto.properties.message.example).toMatch(/^comment /);
  });
});
