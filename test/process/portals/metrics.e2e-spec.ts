import request from 'supertest';
import { parseConfig } from '../../../src/config/load-config.js';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER, RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';
import { freePort, spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { IdentityProvider } from '../../support/identity-provider.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef0123456789';

/** What an SRE scrapes: the series an SRE needs (requests, upstream calls, logins, runs, audit, replays, limits, breakers, watchers), and no label a caller can invent. */
describe('GET /metrics', () => {
  let world: World;
  let auth: string;
  beforeAll(async () => {
    world = await startWorld({
      extra: { rateLimit: { runsPerMinute: 3, readsPerMinute: 1000 }, metrics: { bearerToken: METRICS_TOKEN } },
    });
    auth = `Bearer ${await world.idp.token(RUN_AND_READ)}`;
  });
  afterAll(() => world.stop());

  const scrape = async () => {
    const response = await request(world.gateway.url)
      .get('/metrics')
      .set('authorization', `Bearer ${METRICS_TOKEN}`)
      .expect(200);
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
      sample(text, 'backup_gateway_upstream_request_duration_seconds_count', { operation: 'run', outcome: '2xx' }),
    ).toBeGreaterThanOrEqual(2);
    // Per appliance, counters only (a histogram's 15 series a label set, times every appliance, do not scale).
    expect(
      sample(text, 'backup_gateway_appliance_requests_total', { appliance: 'vc-a', outcome: '2xx' }),
    ).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'backup_gateway_appliance_request_seconds_total', { appliance: 'vc-a' })).toBeGreaterThan(0);
    expect(text).not.toMatch(/^backup_gateway_upstream_request_duration_seconds\w*\{[^}]*appliance=/m);
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
    // Node's process metrics under the names stock Node.js dashboards query, not under the gateway's prefix.
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
    expect(text).not.toMatch(/^backup_gateway_(process|nodejs)_/m);
    // Nothing a caller sent became a label value.
    expect(text).not.toContain('made-up-path-12345');
    expect(text).not.toContain('invented-appliance-9');
  });
});

describe('GET /metrics on the API port: only with metrics.bearerToken, and then only with it', () => {
  it('with a token configured: 401 problem without it or with another, 200 with it', async () => {
    const world = await startWorld({ extra: { metrics: { bearerToken: METRICS_TOKEN } } });
    try {
      for (const authorization of [
        undefined,
        `Bearer ${METRICS_TOKEN}x`,
        `Bearer ${METRICS_TOKEN.slice(1)}`,
        METRICS_TOKEN,
      ]) {
        const test = request(world.gateway.url).get('/metrics');
        if (authorization) test.set('authorization', authorization);
        const refused = await test.expect(401);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(refused.headers['www-authenticate']).toMatch(/^Bearer /);
        expect(refused.body.code).toBe('UNAUTHENTICATED');
      }
      // A caller's own access token is not the metrics token.
      const caller = await world.idp.token(RUN_AND_READ);
      await request(world.gateway.url).get('/metrics').set('authorization', `Bearer ${caller}`).expect(401);
      await request(world.gateway.url).get('/metrics').set('authorization', `bearer ${METRICS_TOKEN}`).expect(200);
    } finally {
      await world.stop();
    }
  });

  it('without one: 404 NOT_FOUND problem, as for any path that does not exist', async () => {
    const world = await startWorld();
    try {
      const response = await request(world.gateway.url).get('/metrics').expect(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('NOT_FOUND');
    } finally {
      await world.stop();
    }
  });

  it('rejects a token shorter than 32 characters at start-up', () => {
    expect(() =>
      parseConfig(
        {
          auth: { apiKeys: [{ id: 'k', sha256: '0'.repeat(64), scopes: ['backups:read'] }] },
          appliances: [{ id: 'vc-a', url: 'https://vc-a.example', username: 'u', password: 'p' }],
          metrics: { bearerToken: 'short' },
        },
        {},
      ),
    ).toThrow(/metrics\.bearerToken: must be at least 32 characters/);
  });
});

describe('metrics.port', () => {
  async function withGateway(
    metrics: Record<string, unknown>,
    test: (urls: { api: string; own: string }) => Promise<void>,
  ) {
    const idp = await new IdentityProvider().start();
    const sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await sim.start();
    const metricsPort = await freePort();
    const gateway = await spawnGateway(
      writeConfig({
        auth: { jwt: idp.jwtConfig() },
        appliances: [{ id: 'vc-a', url: sim.url, username: '${VC_USER}', password: '${VC_PASSWORD}' }],
        metrics: { port: metricsPort, ...metrics },
      }),
      { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD },
    );
    try {
      await test({ api: gateway.url, own: `http://127.0.0.1:${metricsPort}` });
    } finally {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
      await sim.stop();
      await idp.stop();
    }
  }

  it('serves /metrics and the readiness details on its own port, and neither on the API port', async () => {
    await withGateway({}, async ({ api, own }) => {
      const metrics = await fetch(`${own}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('backup_gateway_http_request_duration_seconds');
      const ready = await fetch(`${own}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: 'ok',
        details: {
          audit: { status: 'up' },
          appliances: { status: 'up', configured: 1, states: { 'vc-a': 'unknown' } },
        },
      });
      expect((await fetch(`${own}/health/live`)).status).toBe(404);

      const apiMetrics = await fetch(`${api}/metrics`);
      expect(apiMetrics.status).toBe(404);
      expect(apiMetrics.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const apiReady = await fetch(`${api}/health/ready`);
      expect(apiReady.status).toBe(200);
      expect(await apiReady.json()).toEqual({ status: 'ok', details: {} });
    });
  });

  it('with metrics.bearerToken, asks for it there too', async () => {
    await withGateway({ bearerToken: METRICS_TOKEN }, async ({ own }) => {
      for (const path of ['/metrics', '/health/ready']) {
        const refused = await fetch(`${own}${path}`);
        expect(refused.status).toBe(401);
        expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
        expect(await refused.text()).not.toContain('vc-a');
        const wrong = await fetch(`${own}${path}`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
        expect(wrong.status).toBe(401);
        const served = await fetch(`${own}${path}`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        expect(served.status).toBe(200);
      }
    });
  });
});
