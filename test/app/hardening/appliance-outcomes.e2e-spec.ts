import request from 'supertest';
import { ApplianceRegistry } from '../../../src/appliances/appliance-registry.service.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { type AuditClient, auditClient } from '../../support/audit-client.js';
import { APPLIANCE_PASSWORD, RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';

const RUN_PATH = /action=run/;
const PROXY_PAGE = '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>';

/** What an appliance (or what stands in front of it) answers, and what the caller and the audit trail make of it. */
describe('appliance outcomes and the service account', () => {
  let world: World;
  let auth: string;
  let audit: AuditClient;
  beforeAll(async () => {
    world = await startWorld({ applianceIds: ['vc-a', 'vc-b', 'vc-c'] });
    auth = `Bearer ${await world.idp.token(RUN_AND_READ)}`;
    audit = auditClient(world.gateway.url, `Bearer ${await world.idp.token({ sub: 'auditor', scope: 'audit:read' })}`);
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    for (const sim of Object.values(world.appliances)) {
      sim.faults.clear();
      sim.finishRunningJobs();
      sim.resetCounters();
    }
  });

  const run = (appliance: string, requestId: string) =>
    request(world.gateway.url)
      .post(`/appliances/${appliance}/backups/schedules/default/run`)
      .set('authorization', auth)
      .set('x-request-id', requestId)
      .send({});

  it.each([
    ['an HTML 502 from a proxy', { status: 502, rawBody: PROXY_PAGE, contentType: 'text/html' }, 502],
    ['an HTML 504 from a proxy', { status: 504, rawBody: PROXY_PAGE, contentType: 'text/html' }, 504],
    ['an empty 500', { status: 500, rawBody: '' }, 502],
  ])('%s after the run was sent: outcome unknown, with the "may have started" hint', async (_name, fault, status) => {
    world.appliances['vc-a'].faults.set({ kind: 'status', ...fault, path: RUN_PATH, phase: 'after' });
    const requestId = `untyped-${status}-${fault.rawBody.length}`;
    const response = await run('vc-a', requestId);
    expect(response.status).toBe(status);
    expect(response.body.detail).toMatch(/may have started/);
    expect(world.appliances['vc-a'].counters.jobsStarted).toBe(1); // it had, indeed
    const { requested } = await audit.forRequest(requestId);
    expect(requested[0].finalOutcome).toBe('unknown');
  });

  it('a typed vAPI error is the appliance saying no: failed, without the hint', async () => {
    world.appliances['vc-a'].faults.set({ kind: 'status', status: 500, errorType: 'ERROR', path: RUN_PATH });
    const response = await run('vc-a', 'typed-500');
    expect(response.status).toBe(502);
    expect(response.body.detail).not.toMatch(/may have started/);
    expect((await audit.forRequest('typed-500')).requested[0].finalOutcome).toBe('failed');
  });

  it('a rejected service account is not tried again per request: one login for 30 requests, Retry-After, auth_failed', async () => {
    const sim = world.appliances['vc-b'];
    sim.expireAllSessions();
    sim.faults.set({ kind: 'rejectCredentials' });
    const before = world.gateway.logs.length;
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => run('vc-b', `locked-${i}`)));
    for (const response of responses) {
      expect(response.status).toBe(502);
      expect(response.body.code).toBe('APPLIANCE_AUTH_FAILED');
      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(55);
    }
    expect(sim.counters.loginAttempts).toBe(1);
    // Later requests are answered without calling the appliance at all.
    const later = await run('vc-b', 'locked-later');
    expect(later.status).toBe(502);
    expect(sim.counters.loginAttempts).toBe(1);
    expect(sim.counters.runs).toBe(0);
    // Logged once for the backoff period, not per request.
    const backoffLines = world.gateway.logs.slice(before).filter((line) => line.includes('logins held back'));
    expect(backoffLines).toHaveLength(1);
    const list = await request(world.gateway.url).get('/appliances').set('authorization', auth).expect(200);
    expect(list.body.items.find((a: { id: string }) => a.id === 'vc-b')).toMatchObject({
      status: 'auth_failed',
      lastError: 'APPLIANCE_AUTH_FAILED',
    });
  });

  it('a reload that changes the credentials tries at once; one that does not keeps holding back', async () => {
    const sim = world.appliances['vc-c'];
    const registry = world.gateway.app.get(ApplianceRegistry);
    const withPassword = (password: string) => {
      const document = JSON.parse(JSON.stringify(world.gateway.config));
      document.appliances = document.appliances.map((a: { id: string }) => (a.id === 'vc-c' ? { ...a, password } : a));
      return parseConfig(document, {});
    };
    registry.reload(withPassword('an-old-password'));
    await run('vc-c', 'wrong-password').expect(502);
    expect(sim.counters.loginAttempts).toBe(1);
    registry.reload(withPassword('an-old-password')); // nothing changed: still held back
    await run('vc-c', 'unchanged-reload').expect(502);
    expect(sim.counters.loginAttempts).toBe(1);
    registry.reload(withPassword(APPLIANCE_PASSWORD));
    await run('vc-c', 'fixed-password').expect(202);
    expect(sim.counters.loginAttempts).toBe(2);
  });
  it('an error or a job whose message args cannot be made text (toString not a function) is answered, not a 500', async () => {
    const sim = world.appliances['vc-a'];
    const hostileArgs = '[{"toString":"x"},{"valueOf":1},null,7]';
    sim.faults.set({
      path: RUN_PATH,
      kind: 'status',
      status: 400,
      rawBody: `{"error_type":"INVALID_ARGUMENT","messages":[{"id":"x","default_message":"no\\u001b[2J","args":${hostileArgs}}]}`,
    });
    const refused = await run('vc-a', 'hostile-args').expect(422);
    expect(refused.body.upstream.messages[0]).toEqual({
      id: 'x',
      message: 'no\uFFFD[2J',
      args: ['{"toString":"x"}', '{"valueOf":1}', 'null', '7'],
    });
    sim.faults.set({
      path: /\/job\//,
      kind: 'status',
      status: 200,
      rawBody: `{"id":"j-1","state":"INPROGRESS","progress":5,"messages":[{"id":"m","default_message":"ok","args":${hostileArgs}}]}`,
    });
    const job = await request(world.gateway.url)
      .get('/appliances/vc-a/backups/jobs/j-1')
      .set('authorization', auth)
      .expect(200);
    expect(job.body.job.messages[0].args).toEqual(['{"toString":"x"}', '{"valueOf":1}', 'null', '7']);
  });
});
