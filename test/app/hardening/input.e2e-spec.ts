import request from 'supertest';
import { startWorld, World } from '../../support/fixture.js';

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

  describe('free text that would display as something else', () => {
    const auditOf = async (requestId: string) =>
      (
        await request(world.gateway.url)
          .get(`/audit/events?requestId=${requestId}`)
          .set('authorization', auth)
          .expect(200)
      ).body.items as { stage: string; comment?: string }[];
    const run = (path: string, body: Record<string, unknown>, requestId: string) =>
      post(path, JSON.stringify(body)).set('x-request-id', requestId);

    it.each([
      ['U+202E (right-to-left override: "evil" shows as "live")', '\u202e'],
      ['U+0085 (C1 next line)', '\u0085'],
      ['U+2066 (left-to-right isolate)', '\u2066'],
    ])('%s in a comment or a tag: 400 naming the field, no audit entry, nothing sent', async (name, c) => {
      const code = name.slice(0, 6);
      const id = `bidi-${c.charCodeAt(0).toString(16)}`;
      const refusals = [
        ['comment', await run(BODY_ROUTES[0][0], { comment: `backup ${c}evil` }, `${id}-single`)],
        ['comment', await run(BODY_ROUTES[1][0], { comment: `${c}` }, `${id}-short`)],
        [
          'comment',
          await run('/backups/runs', { schedule: 'default', appliances: ['vc-a'], comment: `a${c}b` }, `${id}-fleet`),
        ],
        ['tags', await run('/backups/runs', { schedule: 'default', tags: ['prod', `pr${c}od`] }, `${id}-tags`)],
      ] as const;
      for (const [field, response] of refusals) {
        expect(response.status).toBe(400);
        expect(response.body.code).toBe('VALIDATION_FAILED');
        expect(response.body.errors).toEqual([
          {
            field,
            message: expect.stringContaining(
              `must not contain control or bidirectional formatting characters (found ${code})`,
            ),
          },
        ]);
      }
      expect(upstreamRequests()).toBe(0);
      for (const suffix of ['single', 'short', 'fleet', 'tags']) expect(await auditOf(`${id}-${suffix}`)).toEqual([]);
    });

    it('ordinary text with emoji, accents and a right-to-left script is still a 202, stored exactly as sent', async () => {
      const comment = 'Zoë’s café backup 🙂👩🏽‍💻 — גיבוי לפני שדרוג\n\tÅngström';
      const response = await run(BODY_ROUTES[0][0], { comment }, 'bidi-control-ok');
      expect(response.status).toBe(202);
      world.appliances['vc-a'].finishRunningJobs();
      const entries = await auditOf('bidi-control-ok');
      expect(entries.map((entry) => entry.stage).sort()).toEqual(['completed', 'requested']);
      for (const entry of entries) expect(entry.comment).toBe(comment);
    });
  });

  it('an ill-formed percent-encoded query value is refused', async () => {
    const response = await request(world.gateway.url).get('/appliances?tag=%ED%A0%80').set('authorization', auth);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
  });
});
