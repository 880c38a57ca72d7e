import request from 'supertest';
import { ApplianceSimulator } from '../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER, RUN_AND_READ, startWorld, type World } from '../support/fixture.js';
import { freePort, spawnGateway, writeConfig } from '../support/gateway-process.js';
import { IdentityProvider } from '../support/identity-provider.js';

/** What an SRE scrapes: the series an SRE needs (requests, upstream calls, logins, runs, audit, replays, limits, breakers, watchers), and no label a caller can invent. */
describe('GET /metrics', () => {
  let world: World;
  let auth: string;
  beforeAll(async () => {
    world = await startWorld({ extra: { rateLimit: { runsPerMinute: 3, readsPerMinute: 1000 } } });
    auth = `Bearer ${await world.idp.token(RUN_AND_READ)}`;
  });
  afterAll(() => world.stop());

  const scrape = async () => {
    const response = await request(world.gateway.url).get('/metrics').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    return response.text;
  };
  const sample = (text: string, name: string, labels: Record<string, string>) => {
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  it('counts requests by route template, upstream calls, logins, runs, replays, rate limits and breaker state', async () => {
    const run = (key?: string) => {
      const test = request(world.gateway.url)
        .post('/appliances/vc-a/backups/schedules/default/run')
        .set('authorization', auth);
      if (key) test.set('idempotency-key', key);
      return test.send({});
    };
    const first = await run('metrics-key');
    expect(first.status).toBe(202);
    await run('metrics-key').expect(202); // replayed
    world.appliances['vc-a'].finishRunningJobs();
    await request(world.gateway.url)
      .get(`/appliances/vc-a/backups/jobs/${first.body.job.id}`)
      .set('authorization', auth);
    await run().expect(202); // the third run request of the minute: the last allowed
    world.appliances['vc-a'].finishRunningJobs();
    await run().expect(429);
    // Paths and ids a caller makes up.
    await request(world.gateway.url).get('/made-up-path-12345').set('authorization', auth).expect(404);
    await request(world.gateway.url)
      .post('/appliances/invented-appliance-9/backups/schedules/default/run')
      .set('authorization', `Bearer ${await world.idp.token({ ...RUN_AND_READ, sub: 'someone-else' })}`)
      .send({})
      .expect(404);

    const text = await scrape();
    expect(
      sample(text, 'backup_gateway_http_request_duration_seconds_count', {
        route: '/appliances/:applianceId/backups/schedules/:scheduleId/run',
        status: '202',
      }),
    ).toBeGreaterThanOrEqual(3);
    expect(
      sample(text, 'backup_gateway_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }),
    ).toBe(1);
    expect(
      sample(text, 'backup_gateway_upstream_request_duration_seconds_count', {
        appliance: 'vc-a',
        operation: 'run',
        outcome: '2xx',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'backup_gateway_vapi_logins_total', { appliance: 'vc-a', result: 'ok' })).toBe(1);
    expect(
      sample(text, 'backup_gateway_backup_runs_total', { appliance: 'vc-a', outcome: 'accepted' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'backup_gateway_backup_runs_total', { appliance: 'not_configured', outcome: 'rejected' })).toBe(
      1,
    );
    expect(sample(text, 'backup_gateway_idempotent_replays_total', {})).toBeUndefined(); // no labels: a bare line
    expect(text).toMatch(/^backup_gateway_idempotent_replays_total 1$/m);
    expect(sample(text, 'backup_gateway_rate_limited_requests_total', { kind: 'runs' })).toBe(1);
    expect(sample(text, 'backup_gateway_appliance_breaker_state', { appliance: 'vc-b' })).toBe(0);
    expect(text).toMatch(/^backup_gateway_audit_spool_depth 0$/m);
    expect(text).toMatch(/^backup_gateway_job_watchers 0$/m);
    expect(text).toMatch(/^backup_gateway_process_resident_memory_bytes \d+/m);
    // Nothing a caller sent became a label value.
    expect(text).not.toContain('made-up-path-12345');
    expect(text).not.toContain('invented-appliance-9');
  });
});

describe('metrics.port', () => {
  it('serves /metrics on its own port, and not on the API port', async () => {
    const idp = await new IdentityProvider().start();
    const sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await sim.start();
    const metricsPort = await freePort();
    const gateway = await spawnGateway(
      writeConfig({
        auth: { jwt: idp.jwtConfig() },
        appliances: [{ id: 'vc-a', url: sim.url, username: '${VC_USER}', password: '${VC_PASSWORD}' }],
        metrics: { port: metricsPort },
      }),
      { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD },
    );
    try {
      const own = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(own.status).toBe(200);
      expect(await own.text()).toContain('backup_gateway_http_request_duration_seconds');
      const api = await fetch(`${gateway.url}/metrics`);
      expect(api.status).toBe(404);
      expect(api.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    } finally {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
      await sim.stop();
      await idp.stop();
    }
  });
});
