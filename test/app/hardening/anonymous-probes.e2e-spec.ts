import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { ShutdownState } from '../../../src/health/shutdown-state.js';
import { RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';
import { tempDir } from '../../support/temp-dir.js';

/**
 * What anyone who can reach the API port learns without credentials: from /health/ready, ready or not; from
 * /metrics, nothing. Never which appliances the gateway serves. Ids of their own, so that finding one in an answer
 * cannot be a coincidence.
 */
const IDS = ['vcsa-hidden-alpha', 'vcsa-hidden-beta'];
const METRICS_TOKEN = 'metrics-token-0123456789abcdef0123456789';

function expectNoApplianceId(response: request.Response) {
  const everything = JSON.stringify(response.headers) + response.text;
  for (const id of IDS) expect(everything).not.toContain(id);
  expect(everything).not.toContain('vcsa-hidden');
}

describe('anonymous /health/ready and /metrics never name an appliance', () => {
  let world: World;
  let reader: string;
  beforeAll(async () => {
    world = await startWorld({ applianceIds: IDS, extra: { metrics: { bearerToken: METRICS_TOKEN } } });
    reader = `Bearer ${await world.idp.token(RUN_AND_READ)}`;
    // Each appliance has a known state now: something a detailed report would show.
    const appliances = await request(world.gateway.url).get('/appliances').set('authorization', reader).expect(200);
    expect(appliances.body.items.map((a: { id: string }) => a.id)).toEqual(IDS);
  });
  afterAll(() => world.stop());

  it('a ready gateway answers {status: "ok", details: {}} and nothing more, whoever asks', async () => {
    const anonymous = await request(world.gateway.url).get('/health/ready').expect(200);
    expect(anonymous.body).toEqual({ status: 'ok', details: {} });
    expectNoApplianceId(anonymous);
    // A public route authenticates nobody: credentials change nothing (details are on the metrics port).
    const withCredentials = await request(world.gateway.url)
      .get('/health/ready')
      .set('authorization', reader)
      .expect(200);
    expect(withCredentials.body).toEqual({ status: 'ok', details: {} });
    const live = await request(world.gateway.url).get('/health/live').expect(200);
    expect(live.body).toEqual({ status: 'ok' });
  });

  it('/metrics without the metrics token is a 401 problem that names no appliance; the series do name them', async () => {
    for (const authorization of [undefined, reader, `Bearer ${METRICS_TOKEN.toUpperCase()}`]) {
      const test = request(world.gateway.url).get('/metrics');
      if (authorization) test.set('authorization', authorization);
      const refused = await test.expect(401);
      expect(refused.body.code).toBe('UNAUTHENTICATED');
      expectNoApplianceId(refused);
    }
    // What the refusal keeps to itself (so the checks above can fail).
    const scraped = await request(world.gateway.url)
      .get('/metrics')
      .set('authorization', `Bearer ${METRICS_TOKEN}`)
      .expect(200);
    expect(scraped.text).toContain(`appliance="${IDS[0]}"`);
  });

  it('a gateway shutting down answers 503 SERVICE_UNAVAILABLE, a problem that names no appliance', async () => {
    world.gateway.app.get(ShutdownState).markShuttingDown();
    const response = await request(world.gateway.url).get('/health/ready').expect(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.code).toBe('SERVICE_UNAVAILABLE');
    expectNoApplianceId(response);
  });
});

describe('anonymous probes of a gateway that is not ready, or has no metrics token', () => {
  let dir: string;
  let world: World;
  beforeAll(async () => {
    dir = tempDir('gw-anonymous-');
    writeFileSync(join(dir, 'not-a-directory'), '');
    // An audit store that cannot be opened: not ready.
    world = await startWorld({
      applianceIds: IDS,
      extra: { audit: { store: 'sqlite', sqlite: { path: join(dir, 'not-a-directory', 'audit.db') } } },
    });
  });
  afterAll(async () => {
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('not ready: 503 SERVICE_UNAVAILABLE, a problem that names no appliance', async () => {
    const response = await request(world.gateway.url).get('/health/ready').expect(503);
    expect(response.body.code).toBe('SERVICE_UNAVAILABLE');
    expectNoApplianceId(response);
  });

  it('/metrics with no metrics token configured: 404 NOT_FOUND, a problem that names no appliance', async () => {
    const response = await request(world.gateway.url).get('/metrics').expect(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.code).toBe('NOT_FOUND');
    expectNoApplianceId(response);
  });
});
