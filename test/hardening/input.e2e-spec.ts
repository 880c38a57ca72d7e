import request from 'supertest';
import { startWorld, World } from '../support/fixture.js';

const ALL_SCOPES = { scope: 'backups:run backups:read audit:read' };

/**
 * Bad input gets a clear 400 and changes nothing: nothing reaches an appliance, nothing is started. The same
 * hostile shapes are sent to every route that takes a body or a query.
 */
describe('hostile input', () => {
  let world: World;
  let auth: string;
  beforeAll(async () => {
    world = await startWorld();
    auth = `Bearer ${await world.idp.token(ALL_SCOPES)}`;
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    for (const sim of Object.values(world.appliances)) sim.resetCounters();
  });

  const upstreamRequests = () => Object.values(world.appliances).reduce((n, sim) => n + sim.counters.requests, 0);

  const BODY_ROUTES: [string, Record<string, unknown>][] = [
    ['/appliances/vc-a/backups/schedules/default/run', {}],
    ['/backups/schedules/default/run', {}],
    ['/backups/runs', { schedule: 'default', appliances: ['vc-a'] }],
  ];
  const QUERY_ROUTES = [
    '/appliances/vc-a/backups/jobs?limit=1',
    '/appliances?tag=prod',
    '/audit/events?limit=1',
    '/appliances/vc-a/backups/jobs/20261126-120000-00000001/events',
    '/appliances/vc-a/backups/jobs/20261126-120000-00000001',
    '/appliances/vc-a/backups/schedules',
    '/audit/verify',
  ];

  const post = (path: string, rawBody: string) =>
    request(world.gateway.url)
      .post(path)
      .set('authorization', auth)
      .set('content-type', 'application/json')
      .send(rawBody);

  it.each(BODY_ROUTES)('POST %s: a body nested thousands deep is a 400, not a stack overflow', async (path, base) => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const response = await post(
      path,
      `${JSON.stringify(base).slice(0, -1)}${Object.keys(base).length ? ',' : ''}"comment":${deep}}`,
    );
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(upstreamRequests()).toBe(0);
  });

  it.each(
    BODY_ROUTES.flatMap(([path, base]) => ['constructor', 'prototype', '__proto__'].map((key) => [path, key, base])),
  )('POST %s: a body key %s is an unknown field (400), and the run does not proceed', async (path, key, base) => {
    const text = `${JSON.stringify(base).slice(0, -1)}${Object.keys(base as object).length ? ',' : ''}${JSON.stringify(key)}:{"x":1}}`;
    const response = await post(path as string, text);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(response.body.errors)).toContain(key as string);
    expect(upstreamRequests()).toBe(0);
  });

  it.each(QUERY_ROUTES.flatMap((path) => ['constructor', 'prototype', '__proto__'].map((key) => [path, key])))(
    'GET %s with a query parameter %s: 400 unknown field',
    async (path, key) => {
      const separator = path.includes('?') ? '&' : '?';
      const response = await request(world.gateway.url).get(`${path}${separator}${key}=1`).set('authorization', auth);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
      expect(upstreamRequests()).toBe(0);
    },
  );

  it('POST short form with ?constructor= is refused too, and nothing runs', async () => {
    const response = await request(world.gateway.url)
      .post('/backups/schedules/default/run?constructor=x')
      .set('authorization', auth)
      .send({});
    expect(response.status).toBe(400);
    expect(world.appliances['vc-a'].counters.runs).toBe(0);
  });

  it.each([
    ['a lone high surrogate', '"\\ud800"'],
    ['a lone low surrogate', '"x\\udc00y"'],
    ['a reversed pair', '"\\udc00\\ud800"'],
  ])('ill-formed Unicode in a body (%s) is 400 VALIDATION_FAILED naming the field', async (_name, literal) => {
    const single = await post('/appliances/vc-a/backups/schedules/default/run', `{"comment":${literal}}`);
    expect(single.status).toBe(400);
    expect(single.body.errors).toEqual([{ field: 'comment', message: 'must be well-formed Unicode' }]);
    const fleet = await post('/backups/runs', `{"schedule":"default","tags":[${literal}]}`);
    expect(fleet.status).toBe(400);
    expect(fleet.body.errors[0].field).toBe('tags[0]');
    expect(upstreamRequests()).toBe(0);
  });

  it('a comment with control characters is refused; tabs and newlines are fine', async () => {
    const bad = await post('/appliances/vc-a/backups/schedules/default/run', '{"comment":"a\\u0000b"}');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('comment');
    expect(upstreamRequests()).toBe(0);
    const fine = await post('/appliances/vc-a/backups/schedules/default/run', '{"comment":"line 1\\n\\tline 2"}');
    expect(fine.status).toBe(202);
    world.appliances['vc-a'].finishRunningJobs();
  });

  it('an ill-formed percent-encoded query value is refused', async () => {
    const response = await request(world.gateway.url).get('/appliances?tag=%ED%A0%80').set('authorization', auth);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
  });
});
