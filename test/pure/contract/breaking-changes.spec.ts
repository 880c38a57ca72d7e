/**
 * The breaking-change check on small synthetic documents: each rule catches its change, and compatible changes pass.
 */
import {
  breakingChanges,
  compatibilityProblems,
  type OpenApiDocument,
} from '../../../tools/openapi/breaking-changes.js';

/** One run route and one read route, shaped as Nest writes them ($refs, allOf around a $ref with siblings). */
function released(): OpenApiDocument {
  return {
    info: { version: '1.0.0' },
    paths: {
      '/jobs/{jobId}': {
        get: {
          parameters: [
            { name: 'jobId', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } },
            { $ref: '#/components/parameters/RequestId' },
          ],
          responses: {
            '200': {
              description: 'the job',
              headers: { 'X-Request-Id': { schema: { type: 'string' } } },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } },
            },
            '404': { description: 'problem', content: { 'application/problem+json': { schema: { type: 'object' } } } },
          },
        },
      },
      '/runs': {
        post: {
          requestBody: {
            required: false,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/RunBody' } } },
          },
          responses: { '202': { description: 'accepted', headers: { Location: { schema: { type: 'string' } } } } },
        },
      },
    },
    components: {
      parameters: { RequestId: { name: 'X-Request-Id', in: 'header', required: false, schema: { type: 'string' } } },
      schemas: {
        Job: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            state: { type: 'string', enum: ['RUNNING', 'DONE'] },
            progress: { type: 'integer' },
            endTime: { type: 'string', nullable: true },
            parent: { nullable: true, allOf: [{ $ref: '#/components/schemas/Job' }] },
          },
          required: ['id', 'state', 'progress'],
        },
        RunBody: {
          type: 'object',
          properties: {
            comment: { type: 'string', maxLength: 1000, nullable: true },
            tags: { type: 'array', items: { type: 'string' }, maxItems: 10 },
            mode: { type: 'string', enum: ['full', 'quick'] },
          },
        },
      },
    },
  };
}

/** Edits a copy of the released document; the tests reach into it freely, hence `any`. */
// biome-ignore lint/suspicious/noExplicitAny: synthetic documents, edited path by path
type Loose = any;
type Change = (document: OpenApiDocument & { paths: Record<string, Record<string, Loose>>; components: Loose }) => void;

function changed(change: Change): OpenApiDocument {
  const document = structuredClone(released()) as Parameters<Change>[0];
  change(document);
  return document;
}

const job = (d: Parameters<Change>[0]) => d.components.schemas.Job;
const body = (d: Parameters<Change>[0]) => d.components.schemas.RunBody;
const getJob = (d: Parameters<Change>[0]) => d.paths['/jobs/{jobId}'].get;

describe('breaking changes', () => {
  it.each<[string, Change, string]>([
    ['a removed path', (d) => delete d.paths['/runs'], '/runs: path removed'],
    [
      'a removed operation',
      (d) => (d.paths['/runs'] = { get: d.paths['/runs'].post }),
      'POST /runs: operation removed',
    ],
    [
      'a removed parameter',
      (d) => getJob(d).parameters.splice(1, 1),
      'GET /jobs/{jobId}: parameter query:limit removed',
    ],
    [
      'a removed parameter behind a $ref (header names in any case)',
      (d) => getJob(d).parameters.pop(),
      'GET /jobs/{jobId}: parameter header:x-request-id removed',
    ],
    [
      'a parameter made required',
      (d) => (getJob(d).parameters[1].required = true),
      'GET /jobs/{jobId}: parameter query:limit is now required',
    ],
    [
      'a new required parameter',
      (d) => getJob(d).parameters.push({ name: 'Tenant', in: 'header', required: true, schema: { type: 'string' } }),
      'GET /jobs/{jobId}: parameter header:tenant is now required',
    ],
    [
      'a narrowed numeric range',
      (d) => (getJob(d).parameters[1].schema.maximum = 50),
      'GET /jobs/{jobId}: parameter query:limit: maximum lowered from 100 to 50',
    ],
    [
      'a raised lower bound',
      (d) => (getJob(d).parameters[1].schema.minimum = 5),
      'GET /jobs/{jobId}: parameter query:limit: minimum raised from 1 to 5',
    ],
    [
      'a changed parameter type',
      (d) => (getJob(d).parameters[0].schema = { type: 'integer' }),
      'GET /jobs/{jobId}: parameter path:jobId: type changed from string to integer',
    ],
    [
      'a string turned into an enum',
      (d) => (getJob(d).parameters[0].schema.enum = ['a', 'b']),
      'GET /jobs/{jobId}: parameter path:jobId: now restricted to a, b',
    ],
    [
      'a pattern added',
      (d) => (getJob(d).parameters[0].schema.pattern = '^[a-z]+$'),
      'GET /jobs/{jobId}: parameter path:jobId: pattern now ^[a-z]+$',
    ],
    [
      'a request body made required',
      (d) => (d.paths['/runs'].post.requestBody.required = true),
      'POST /runs: request body now required',
    ],
    [
      'a newly required body field',
      (d) => (body(d).required = ['comment']),
      'POST /runs: request body (application/json): field comment is now required',
    ],
    [
      'a removed body field (the gateway refuses unknown fields)',
      (d) => delete body(d).properties.mode,
      'POST /runs: request body (application/json): field mode removed (a client still sending it is refused)',
    ],
    [
      'enum values removed from a body field',
      (d) => (body(d).properties.mode.enum = ['full']),
      'POST /runs: request body (application/json).mode: no longer accepts quick',
    ],
    [
      'a shorter maxLength',
      (d) => (body(d).properties.comment.maxLength = 100),
      'POST /runs: request body (application/json).comment: maxLength lowered from 1000 to 100',
    ],
    [
      'fewer items allowed',
      (d) => (body(d).properties.tags.maxItems = 5),
      'POST /runs: request body (application/json).tags: maxItems lowered from 10 to 5',
    ],
    [
      'null no longer accepted',
      (d) => delete body(d).properties.comment.nullable,
      'POST /runs: request body (application/json).comment: no longer accepts null',
    ],
    [
      'a changed type inside an array',
      (d) => (body(d).properties.tags.items = { type: 'integer' }),
      'POST /runs: request body (application/json).tags[]: type changed from string to integer',
    ],
    [
      'a removed success status',
      (d) => {
        d.paths['/runs'].post.responses = { '200': d.paths['/runs'].post.responses['202'] };
      },
      'POST /runs: response 202 removed',
    ],
    [
      'a removed success header',
      (d) => (d.paths['/runs'].post.responses['202'].headers = {}),
      'POST /runs: response 202 header Location removed',
    ],
    [
      'a removed response media type',
      (d) => {
        const ok = getJob(d).responses['200'];
        ok.content = { 'application/x-ndjson': ok.content['application/json'] };
      },
      'GET /jobs/{jobId}: response 200: media type application/json removed',
    ],
    [
      'a removed response field',
      (d) => delete job(d).properties.state,
      'GET /jobs/{jobId}: response 200 (application/json): field state removed',
    ],
    [
      'a response field no longer always present',
      (d) => (job(d).required = ['id', 'state']),
      'GET /jobs/{jobId}: response 200 (application/json): field progress is no longer always present',
    ],
    [
      'a response field that may now be null',
      (d) => (job(d).properties.progress.nullable = true),
      'GET /jobs/{jobId}: response 200 (application/json).progress: may now be null',
    ],
    [
      'a response integer turned into a number',
      (d) => (job(d).properties.progress.type = 'number'),
      'GET /jobs/{jobId}: response 200 (application/json).progress: type changed from integer to number',
    ],
    [
      'a change in a schema reached through allOf (as Nest wraps a $ref with siblings)',
      (d) => {
        d.paths['/runs'].post.requestBody.content['application/json'].schema = {
          description: 'A run',
          allOf: [{ $ref: '#/components/schemas/RunBody' }],
        };
        body(d).properties.mode.enum = ['full'];
      },
      'POST /runs: request body (application/json).mode: no longer accepts quick',
    ],
    [
      'a change in a recursive schema (Job.parent is a Job)',
      (d) => (job(d).properties.id.type = 'integer'),
      'GET /jobs/{jobId}: response 200 (application/json).id: type changed from string to integer',
    ],
  ])('catches %s', (_name, change, expected) => {
    const found = breakingChanges(released(), changed(change));
    expect(found.some((line) => line.startsWith(expected))).toBe(true);
  });

  it('passes compatible changes: additions, widenings, descriptions, error statuses', () => {
    const after = changed((d) => {
      d.paths['/appliances'] = { get: { responses: { '200': { description: 'new' } } } };
      d.paths['/runs'].get = { responses: { '200': { description: 'new' } } };
      getJob(d).parameters.push({ name: 'since', in: 'query', required: false, schema: { type: 'string' } });
      getJob(d).parameters[1].schema.maximum = 500;
      getJob(d).parameters[1].schema.minimum = 0;
      getJob(d).parameters[1].schema.description = 'Page size';
      delete getJob(d).responses['404'];
      getJob(d).responses['429'] = { description: 'slow down' };
      getJob(d).responses['200'].headers['Retry-After'] = { schema: { type: 'integer' } };
      job(d).properties.state.enum.push('FAILED');
      job(d).properties.queue = { type: 'string' };
      job(d).required.push('queue');
      delete job(d).properties.endTime.nullable;
      body(d).properties.priority = { type: 'integer' };
      body(d).properties.comment.maxLength = 2000;
      body(d).properties.tags.maxItems = 100;
      body(d).properties.mode.enum.push('incremental');
      body(d).properties.count = { type: 'number' };
      d.paths['/runs'].post.requestBody.content['application/json'].schema = {
        description: 'A run',
        allOf: [{ $ref: '#/components/schemas/RunBody' }],
      };
      d.info.version = '1.1.0';
    });
    expect(breakingChanges(released(), after)).toEqual([]);
    expect(compatibilityProblems(released(), after)).toEqual([]);
  });

  it('lets a breaking change through only with a higher major version, and never a lower one', () => {
    const removed = changed((d) => delete d.paths['/runs']);
    const problems = compatibilityProblems(released(), removed);
    expect(problems[0]).toBe('/runs: path removed');
    expect(problems.at(-1)).toMatch(/raise the major of info\.version/);
    expect(compatibilityProblems(released(), { ...removed, info: { version: '2.0.0' } })).toEqual([]);
    expect(compatibilityProblems(released(), { ...released(), info: { version: '0.9.0' } })).toEqual([
      'info.version 0.9.0 is older than the released 1.0.0',
    ]);
  });
});
