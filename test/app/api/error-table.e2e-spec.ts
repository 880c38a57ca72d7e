import { createServer, Server } from 'node:net';
import request from 'supertest';
import type { Fault } from '../../../tools/simulator/appliance-simulator.js';
import { RUN_AND_READ, startWorld, World } from '../../support/fixture.js';

const RUN_PATH = /action=run/;

/** Every row of the error table, produced by the appliance (or its absence) over real HTTP. */
describe('the error table', () => {
  let world: World;
  let auth: string;
  let deadPort: number;
  let blackhole: Server;

  beforeAll(async () => {
    // A port where nothing listens: connection refused. A privileged port, so that no other test's listener can
    // take it between here and the request (an ephemeral port freed here may be reused at once).
    deadPort = 1;
    blackhole = createServer(() => undefined);
    world = await startWorld({
      applianceIds: ['vc-a', 'vc-b'],
      applianceConfig: { 'vc-a': { timeoutMs: 400 } },
      extra: {},
    });
    auth = `Bearer ${await world.idp.token(RUN_AND_READ)}`;
  });
  afterAll(async () => {
    await world.stop();
    blackhole.close();
  });
  afterEach(() => {
    world.appliances['vc-a'].faults.clear();
    world.appliances['vc-a'].finishRunningJobs();
  });

  const run = (appliance = 'vc-a', schedule = 'default') =>
    request(world.gateway.url)
      .post(`/appliances/${appliance}/backups/schedules/${schedule}/run`)
      .set('authorization', auth)
      .send({});

  function expectProblem(response: request.Response, status: number, code: string) {
    expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.requestId).toEqual(expect.any(String));
  }

  it('404 APPLIANCE_NOT_FOUND for an appliance id that is not configured', async () => {
    const response = await run('vc-zz');
    expectProblem(response, 404, 'APPLIANCE_NOT_FOUND');
    expect(response.body.appliance).toBe('vc-zz');
  });

  it('404 SCHEDULE_NOT_FOUND when the appliance has no such schedule, with the upstream error', async () => {
    const response = await run('vc-a', 'nightly');
    expectProblem(response, 404, 'SCHEDULE_NOT_FOUND');
    expect(response.body.appliance).toBe('vc-a');
    expect(response.body.upstream).toMatchObject({
      status: 404,
      errorType: 'NOT_FOUND',
      messages: [expect.objectContaining({ id: expect.any(String) })],
    });
  });

  it('404 JOB_NOT_FOUND for an unknown job', async () => {
    const response = await request(world.gateway.url)
      .get('/appliances/vc-a/backups/jobs/20200101-000000-1')
      .set('authorization', auth);
    expectProblem(response, 404, 'JOB_NOT_FOUND');
  });

  it('409 BACKUP_IN_PROGRESS while a backup runs (vAPI 400 FEATURE_IN_USE)', async () => {
    await run().expect(202);
    const response = await run();
    expectProblem(response, 409, 'BACKUP_IN_PROGRESS');
    expect(response.body.upstream).toMatchObject({ status: 400, errorType: 'FEATURE_IN_USE' });
  });

  it.each<[string, Fault, number, string]>([
    [
      'INVALID_ARGUMENT',
      { kind: 'status', status: 400, errorType: 'INVALID_ARGUMENT', path: RUN_PATH },
      422,
      'APPLIANCE_REJECTED',
    ],
    [
      'NOT_ALLOWED_IN_CURRENT_STATE',
      { kind: 'status', status: 400, errorType: 'NOT_ALLOWED_IN_CURRENT_STATE', path: RUN_PATH },
      422,
      'APPLIANCE_REJECTED',
    ],
    [
      'a 400 without error_type',
      { kind: 'status', status: 400, errorType: null, path: RUN_PATH },
      422,
      'APPLIANCE_REJECTED',
    ],
    [
      'UNAUTHORIZED',
      { kind: 'status', status: 403, errorType: 'UNAUTHORIZED', path: RUN_PATH },
      502,
      'APPLIANCE_PERMISSION_DENIED',
    ],
    ['500 ERROR', { kind: 'status', status: 500, errorType: 'ERROR', path: RUN_PATH }, 502, 'APPLIANCE_ERROR'],
    [
      'an HTML 502 from a proxy',
      { kind: 'status', status: 502, rawBody: '<html>Bad gateway</html>', contentType: 'text/html', path: RUN_PATH },
      502,
      'APPLIANCE_ERROR',
    ],
    ['malformed JSON', { kind: 'malformed', path: RUN_PATH }, 502, 'APPLIANCE_ERROR'],
    [
      '503 SERVICE_UNAVAILABLE',
      { kind: 'status', status: 503, errorType: 'SERVICE_UNAVAILABLE', path: RUN_PATH },
      503,
      'APPLIANCE_UNAVAILABLE',
    ],
    [
      '504 TIMED_OUT',
      { kind: 'status', status: 504, errorType: 'TIMED_OUT', path: RUN_PATH },
      504,
      'APPLIANCE_TIMEOUT',
    ],
    [
      'TIMED_OUT declared as 500',
      { kind: 'status', status: 500, errorType: 'TIMED_OUT', path: RUN_PATH },
      504,
      'APPLIANCE_TIMEOUT',
    ],
    ['a reset connection', { kind: 'reset', path: RUN_PATH }, 503, 'APPLIANCE_UNAVAILABLE'],
    ['no answer within timeoutMs', { kind: 'hang', path: RUN_PATH }, 504, 'APPLIANCE_TIMEOUT'],
  ])('appliance answers %s', async (_what, fault, status, code) => {
    world.appliances['vc-a'].faults.set(fault);
    const response = await run();
    expectProblem(response, status, code);
    expect(response.body.appliance).toBe('vc-a');
    if (status === 503) expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    if (fault.kind === 'status' && fault.rawBody === undefined)
      expect(response.body.upstream).toMatchObject({ status: fault.status });
  });

  it('says that a run which timed out or lost its connection may have started, and how to check', async () => {
    for (const fault of [{ kind: 'hang' }, { kind: 'reset' }] as Fault[]) {
      world.appliances['vc-a'].faults.set({ ...fault, path: RUN_PATH, phase: 'after' });
      const response = await run();
      expect(response.body.detail).toMatch(/may have started/);
      expect(response.body.detail).toMatch(/backups\/jobs/);
      world.appliances['vc-a'].faults.clear();
      world.appliances['vc-a'].finishRunningJobs();
    }
  });

  it('502 APPLIANCE_AUTH_FAILED when the appliance rejects our service account', async () => {
    world.appliances['vc-a'].expireAllSessions();
    world.appliances['vc-a'].faults.set({ kind: 'rejectCredentials' });
    const response = await run();
    expectProblem(response, 502, 'APPLIANCE_AUTH_FAILED');
    expect(response.body.detail).toMatch(/service account/);
  });

  it('503 APPLIANCE_UNAVAILABLE with the cause when the appliance has run out of sessions', async () => {
    // vc-b: after the rejected login above, vc-a's logins are held back (login backoff).
    world.appliances['vc-b'].expireAllSessions();
    world.appliances['vc-b'].faults.set({ kind: 'sessionLimit' });
    const response = await run('vc-b');
    world.appliances['vc-b'].faults.clear();
    expectProblem(response, 503, 'APPLIANCE_UNAVAILABLE');
    expect(response.body.detail).toMatch(/limit of concurrent API sessions/);
    expect(response.body.upstream.messages[0].id).toBe(
      'com.vmware.vapi.endpoint.failedToLoginMaxUserSessionCountReached',
    );
  });

  it('503 APPLIANCE_UNAVAILABLE when nothing listens, and 504 when the connection is never answered', async () => {
    await blackholeReady(blackhole);
    const gateway = await import('../../support/gateway.js');
    const g = await gateway.startGateway({
      auth: { jwt: world.idp.jwtConfig() },
      appliances: [
        { id: 'dead', url: `http://127.0.0.1:${deadPort}`, username: 'u', password: 'p' },
        {
          id: 'silent',
          url: `http://127.0.0.1:${(blackhole.address() as { port: number }).port}`,
          username: 'u',
          password: 'p',
          timeoutMs: 300,
        },
      ],
    });
    try {
      const dead = await request(g.url)
        .post('/appliances/dead/backups/schedules/default/run')
        .set('authorization', auth);
      expectProblem(dead, 503, 'APPLIANCE_UNAVAILABLE');
      expect(dead.body.detail).toMatch(/ECONNREFUSED/);
      expect(dead.body.detail).not.toMatch(/may have started/);
      const silent = await request(g.url)
        .post('/appliances/silent/backups/schedules/default/run')
        .set('authorization', auth);
      expectProblem(silent, 504, 'APPLIANCE_TIMEOUT');
    } finally {
      await g.close();
    }
  });
});

function blackholeReady(server: Server): Promise<void> {
  return server.listening
    ? Promise.resolve()
    : new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}
