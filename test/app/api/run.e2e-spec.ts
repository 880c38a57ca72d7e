import request from 'supertest';
import { APPLIANCE_PASSWORD, RUN_AND_READ, startWorld, World } from '../../support/fixture.js';

describe('running a backup schedule', () => {
  let world: World;
  let token: string;

  beforeAll(async () => {
    world = await startWorld({ extra: { jobs: { pollIntervalMs: 100 } } });
    token = await world.idp.token(RUN_AND_READ);
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    for (const sim of Object.values(world.appliances)) {
      sim.finishRunningJobs();
      sim.resetCounters();
      sim.clearRequests();
    }
  });

  it('answers 202 with the job, a Location and the request id, and forwards comment and request id', async () => {
    const response = await request(world.gateway.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('authorization', `Bearer ${token}`)
      .set('x-request-id', 'portal-req.42')
      .send({ comment: 'before the 8.0.3 upgrade' })
      .expect(202);

    const { job } = response.body;
    expect(response.body).toMatchObject({ appliance: 'vc-a', schedule: 'default', requestId: 'portal-req.42' });
    expect(job).toEqual({
      id: expect.stringMatching(/^\d{8}-\d{6}-\d+$/),
      state: 'INPROGRESS',
      progress: 0,
      startTime: expect.any(String),
      endTime: null,
      messages: expect.any(Array),
    });
    expect(Object.keys(job).some((k) => k.includes('_'))).toBe(false);
    expect(response.headers.location).toBe(`/appliances/vc-a/backups/jobs/${job.id}`);
    expect(response.headers['x-request-id']).toBe('portal-req.42');

    const sim = world.appliances['vc-a'];
    expect(sim.counters.jobsStarted).toBe(1);
    const runRequest = sim.requests.find((r) => r.path.includes('action=run'));
    expect(runRequest?.path).toBe('/api/appliance/recovery/backup/schedules/default?action=run');
    expect(runRequest?.json).toEqual({ comment: 'before the 8.0.3 upgrade' });
    expect(runRequest?.headers['x-request-id']).toBe('portal-req.42');
    expect(runRequest?.headers['vmware-api-session-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(world.appliances['vc-b'].counters.runs).toBe(0);
  });

  it('runs without a body, and mints a request id when the caller sends none or an unusable one', async () => {
    const first = await request(world.gateway.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('authorization', `Bearer ${token}`)
      .set('x-request-id', 'has spaces and ; semicolons')
      .expect(202);
    expect(first.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.headers['x-request-id']).toBe(first.body.requestId);
    const runRequest = world.appliances['vc-a'].requests.find((r) => r.path.includes('action=run'));
    expect(runRequest?.body).toBe('');
  });

  it('reports the job status in the same shape, camelCased, with endTime once finished', async () => {
    const run = await request(world.gateway.url)
      .post('/appliances/vc-b/backups/schedules/default/run')
      .set('authorization', `Bearer ${token}`)
      .expect(202);
    const jobId = run.body.job.id;
    const running = await request(world.gateway.url)
      .get(`/appliances/vc-b/backups/jobs/${jobId}`)
      .set('authorization', `Bearer ${token}`)
      .expect(200);
    expect(running.body).toMatchObject({ appliance: 'vc-b', job: { id: jobId, state: 'INPROGRESS', endTime: null } });

    world.appliances['vc-b'].finishRunningJobs();
    await new Promise((resolve) => setTimeout(resolve, 150)); // past jobs.pollIntervalMs: statuses are shared that long
    const done = await request(world.gateway.url)
      .get(`/appliances/vc-b/backups/jobs/${jobId}`)
      .set('authorization', `Bearer ${token}`)
      .expect(200);
    expect(done.body.job).toMatchObject({ id: jobId, state: 'SUCCEEDED', progress: 100, endTime: expect.any(String) });
  });

  it('short form: runs on defaultAppliance, or on ?appliance=', async () => {
    await request(world.gateway.url)
      .post('/backups/schedules/default/run')
      .set('authorization', `Bearer ${token}`)
      .expect(202);
    expect(world.appliances['vc-a'].counters.jobsStarted).toBe(1);
    const other = await request(world.gateway.url)
      .post('/backups/schedules/default/run?appliance=vc-b')
      .set('authorization', `Bearer ${token}`)
      .expect(202);
    expect(other.body.appliance).toBe('vc-b');
    expect(other.headers.location).toMatch(/^\/appliances\/vc-b\/backups\/jobs\//);
    expect(world.appliances['vc-b'].counters.jobsStarted).toBe(1);
  });

  it('lists the appliances the caller may read, without URLs or credentials', async () => {
    const all = await request(world.gateway.url).get('/appliances').set('authorization', `Bearer ${token}`).expect(200);
    // backup: the freshness suite checks it.
    const live = { status: 'ok', lastCheckedAt: expect.any(String), lastError: null, backup: expect.any(Object) };
    expect(all.body.items).toEqual([
      { id: 'vc-a', name: 'vCenter vc-a', tags: ['prod'], ...live },
      { id: 'vc-b', name: 'vCenter vc-b', tags: ['lab'], ...live },
    ]);
    const text = JSON.stringify(all.body);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain(APPLIANCE_PASSWORD);
    expect(text).not.toContain('svc-backup');

    const scoped = await world.idp.token({ scope: 'backups:read:vc-b' });
    const some = await request(world.gateway.url)
      .get('/appliances')
      .set('authorization', `Bearer ${scoped}`)
      .expect(200);
    expect(some.body.items.map((a: { id: string }) => a.id)).toEqual(['vc-b']);
  });

  it('serves health without credentials and the OpenAPI document with every route and both security schemes', async () => {
    await request(world.gateway.url).get('/health/live').expect(200, { status: 'ok' });
    await request(world.gateway.url).get('/health/ready').expect(200);
    const docs = await request(world.gateway.url).get('/docs-json').expect(200);
    const { paths, components } = docs.body;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/appliances/{applianceId}/backups/schedules/{scheduleId}/run',
        '/backups/schedules/{scheduleId}/run',
        '/appliances/{applianceId}/backups/jobs/{jobId}',
        '/appliances',
        '/health/live',
        '/health/ready',
      ]),
    );
    expect(Object.keys(components.securitySchemes).sort()).toEqual(['apiKey', 'jwt']);
    const run = paths['/appliances/{applianceId}/backups/schedules/{scheduleId}/run'].post;
    expect(Object.keys(run.responses)).toEqual(
      expect.arrayContaining(['202', '400', '401', '403', '404', '409', '413', '422', '502', '503', '504']),
    );
    expect(run.responses['409'].content['application/problem+json'].schema.$ref).toBe(
      '#/components/schemas/ProblemDocument',
    );
    expect(run.security).toEqual(expect.arrayContaining([{ jwt: [] }, { apiKey: [] }]));
    const ui = await request(world.gateway.url).get('/docs').redirects(1);
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });
});

describe('the short form without a default appliance', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ defaultAppliance: null });
  });
  afterAll(() => world.stop());

  it('answers 400 VALIDATION_FAILED and sends nothing upstream', async () => {
    const token = await world.idp.token(RUN_AND_READ);
    const response = await request(world.gateway.url)
      .post('/backups/schedules/default/run')
      .set('authorization', `Bearer ${token}`)
      .expect(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(world.appliances['vc-a'].counters.requests + world.appliances['vc-b'].counters.requests).toBe(0);
  });
});
