import request from 'supertest';
import { RUN_AND_READ, startWorld, World } from '../../support/fixture.js';

const POLL_MS = 300;

/** Job status for many watchers, recent jobs, schedules and the SSE progress stream. */
describe('jobs and schedules', () => {
  let world: World;
  let auth: string;

  beforeAll(async () => {
    world = await startWorld({
      extra: { jobs: { pollIntervalMs: POLL_MS } },
      simulatorOptions: {
        jobDurationMs: 3000,
        schedules: {
          default: {
            parts: ['seat'],
            location: 'sftp://backup:hunter2@backup.example.test/vcsa',
            location_user: 'backup-writer',
            enable: true,
            recurrence_info: { hour: 23, minute: 30, days: ['MONDAY'] },
            retention_info: { max_count: 5 },
          },
          weekly: { parts: [], location: 'nfs://nas/backups', enable: false },
        },
      },
    });
    auth = `Bearer ${await world.idp.token(RUN_AND_READ)}`;
  });
  afterAll(() => world.stop());

  const sim = () => world.appliances['vc-a'];
  const run = () =>
    request(world.gateway.url).post('/appliances/vc-a/backups/schedules/default/run').set('authorization', auth);

  it('lists schedules without the location user or credentials in the location', async () => {
    const response = await request(world.gateway.url)
      .get('/appliances/vc-a/backups/schedules')
      .set('authorization', auth)
      .expect(200);
    expect(response.body).toEqual({
      appliance: 'vc-a',
      items: [
        {
          id: 'default',
          enabled: true,
          recurrence: { hour: 23, minute: 30, days: ['MONDAY'] },
          retention: { maxCount: 5 },
          parts: ['seat'],
          location: 'sftp://backup.example.test/vcsa',
        },
        { id: 'weekly', enabled: false, recurrence: null, retention: null, parts: [], location: 'nfs://nas/backups' },
      ],
    });
    expect(response.text).not.toMatch(/backup-writer|hunter2|location_user|locationUser/);
    const scoped = await world.idp.token({ scope: 'backups:read:vc-b' });
    await request(world.gateway.url)
      .get('/appliances/vc-a/backups/schedules')
      .set('authorization', `Bearer ${scoped}`)
      .expect(403);
  });

  it('200 concurrent watchers of a running job cost at most one upstream status request per poll interval, none once it ended', async () => {
    // 200 people, each with a token of their own (one caller may only have limits.maxInFlightPerCaller at once).
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => world.idp.token({ sub: `watcher-${i}`, scope: 'backups:read' })),
    );
    const jobId = (await run().expect(202)).body.job.id;
    sim().resetCounters();
    const started = Date.now();
    let polls = 0;
    const watcher = async (token: string) => {
      for (;;) {
        const response = await request(world.gateway.url)
          .get(`/appliances/vc-a/backups/jobs/${jobId}`)
          .set('authorization', `Bearer ${token}`);
        polls++;
        if (response.status !== 200) throw new Error(`status ${response.status}`);
        if (response.body.job.state !== 'INPROGRESS') return response.body.job.state;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const states = await Promise.all(tokens.map(watcher));
    const elapsed = Date.now() - started;
    expect(new Set(states)).toEqual(new Set(['SUCCEEDED']));
    // Many more answers than upstream requests, however fast this machine polled.
    expect(polls).toBeGreaterThan(200);
    expect(polls).toBeGreaterThan(5 * sim().counters.jobGets);
    expect(sim().counters.jobGets).toBeGreaterThan(0);
    expect(sim().counters.jobGets).toBeLessThanOrEqual(Math.ceil(elapsed / POLL_MS) + 1);

    const afterEnd = sim().counters.jobGets;
    await Promise.all(
      tokens
        .slice(0, 50)
        .map((token) =>
          request(world.gateway.url)
            .get(`/appliances/vc-a/backups/jobs/${jobId}`)
            .set('authorization', `Bearer ${token}`)
            .expect(200),
        ),
    );
    expect(sim().counters.jobGets).toBe(afterEnd);
  });

  it('lists recent jobs newest first, with their status', async () => {
    sim().finishRunningJobs();
    const newest = (await run().expect(202)).body.job.id;
    const response = await request(world.gateway.url)
      .get('/appliances/vc-a/backups/jobs?limit=2')
      .set('authorization', auth)
      .expect(200);
    expect(response.body.items).toHaveLength(2);
    expect(response.body.items[0]).toMatchObject({ id: newest, state: 'INPROGRESS' });
    expect(response.body.items[1].id < newest).toBe(true);
    await request(world.gateway.url)
      .get('/appliances/vc-a/backups/jobs?limit=0')
      .set('authorization', auth)
      .expect(400);
    await request(world.gateway.url)
      .get('/appliances/vc-a/backups/jobs?limit=abc')
      .set('authorization', auth)
      .expect(400);
  });

  it("the appliance hears the request id of the lists a caller asks for; a job's shared status read carries none", async () => {
    sim().finishRunningJobs();
    const jobId = (await run().expect(202)).body.job.id;
    const from = sim().requests.length;
    const get = (path: string, requestId: string) =>
      request(world.gateway.url).get(path).set('authorization', auth).set('x-request-id', requestId).expect(200);
    await get('/appliances/vc-a/backups/schedules', 'portal-schedules.1');
    await get('/appliances/vc-a/backups/jobs?limit=1', 'portal-jobs.2');
    // Older than a poll interval, the job's status is read from the appliance again (not answered from memory).
    await new Promise((resolve) => setTimeout(resolve, POLL_MS + 50));
    const status = await get(`/appliances/vc-a/backups/jobs/${jobId}`, 'portal-status.3');
    expect(status.body.requestId).toBe('portal-status.3');
    const heard = sim()
      .requests.slice(from)
      .filter((r) => r.method === 'GET')
      .map((r) => [r.path, r.headers['x-request-id']]);
    expect(heard).toContainEqual(['/api/appliance/recovery/backup/schedules', 'portal-schedules.1']);
    expect(heard).toContainEqual(['/api/appliance/recovery/backup/job', 'portal-jobs.2']);
    // Read once per poll interval for every caller following the job: none of them is the one it serves.
    const statusReads = heard.filter(([path]) => path === `/api/appliance/recovery/backup/job/${jobId}`);
    expect(statusReads.length).toBeGreaterThanOrEqual(1);
    expect(statusReads.every(([, requestId]) => requestId === undefined)).toBe(true);
  });

  it('streams progress as Server-Sent Events until the job ends', async () => {
    sim().finishRunningJobs();
    const jobId = (await run().expect(202)).body.job.id;
    const response = await fetch(`${world.gateway.url}/appliances/vc-a/backups/jobs/${jobId}/events`, {
      headers: { authorization: auth },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await response.text(); // the stream ends with the job
    const events = text
      .split('\n\n')
      .filter((block) => block.includes('data:'))
      .map((block) => ({
        id: Number(/^id: (.*)$/m.exec(block)?.[1]),
        type: /^event: (.*)$/m.exec(block)?.[1],
        data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null'),
      }));
    // The job's feed numbers its events: this watcher came first, so it has them all, from 1.
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]).toMatchObject({
      type: 'progress',
      data: { appliance: 'vc-a', job: { id: jobId, state: 'INPROGRESS' } },
    });
    expect(events.at(-1)).toMatchObject({ type: 'end', data: { job: { state: 'SUCCEEDED', progress: 100 } } });
    const progress = events.filter((e) => e.type === 'progress').map((e) => e.data.job.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(progress).size).toBe(progress.length);
  });

  it('refuses the event stream without credentials (401), before it starts', async () => {
    const response = await fetch(`${world.gateway.url}/appliances/vc-a/backups/jobs/20200101-000000-1/events`);
    expect(response.status).toBe(401);
  });

  it("refuses the event stream of another appliance's job to a caller scoped to one appliance (403), before it starts", async () => {
    sim().finishRunningJobs();
    const jobId = (await run().expect(202)).body.job.id;
    const elsewhere = `Bearer ${await world.idp.token({ sub: 'vc-b-team', scope: 'backups:read:vc-b' })}`;
    const refused = await fetch(`${world.gateway.url}/appliances/vc-a/backups/jobs/${jobId}/events`, {
      headers: { authorization: elsewhere },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await refused.json()) as { code: string }).code).toBe('FORBIDDEN');
    // The scope for that appliance is enough: the refusal was about the scope, not the job.
    const own = `Bearer ${await world.idp.token({ sub: 'vc-a-team', scope: 'backups:read:vc-a' })}`;
    const allowed = await fetch(`${world.gateway.url}/appliances/vc-a/backups/jobs/${jobId}/events`, {
      headers: { authorization: own },
    });
    expect(allowed.status).toBe(200);
    await allowed.body?.cancel();
    sim().finishRunningJobs();
  });
});
