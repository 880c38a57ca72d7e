import request from 'supertest';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER, RUN_AND_READ } from '../../support/fixture.js';
import { spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { tempDir } from '../../support/temp-dir.js';

/** The gateway as a process: start-up validation and graceful shutdown. */
describe('the gateway process', () => {
  let idp: IdentityProvider;
  let sims: ApplianceSimulator[];

  beforeAll(async () => {
    idp = await new IdentityProvider().start();
    sims = [0, 1].map(() => new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD }));
    await Promise.all(sims.map((s) => s.start()));
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()));
    await idp.stop();
  });

  const document = () => ({
    auth: { jwt: idp.jwtConfig() },
    appliances: sims.map((sim, i) => ({
      id: `vc-${i}`,
      url: sim.url,
      username: '${VC_USER}',
      password: '${VC_PASSWORD}',
    })),
    audit: { sqlite: { path: `${tempDir()}/audit.db` } },
    shutdownGraceMs: 5000,
  });
  const env = { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD };

  it('on SIGTERM: finishes the in-flight request, logs out every appliance session, exits 0', async () => {
    const gateway = await spawnGateway(writeConfig(document()), env);
    const auth = `Bearer ${await idp.token(RUN_AND_READ)}`;
    await request(gateway.url)
      .post('/appliances/vc-0/backups/schedules/default/run')
      .set('authorization', auth)
      .expect(202);
    await request(gateway.url)
      .post('/appliances/vc-1/backups/schedules/default/run')
      .set('authorization', auth)
      .expect(202);
    expect(sims.map((s) => s.openSessions())).toEqual([1, 1]);

    sims[0].finishRunningJobs();
    sims[0].faults.set({ kind: 'latency', ms: 800, path: /action=run/ });
    const inFlight = request(gateway.url)
      .post('/appliances/vc-0/backups/schedules/default/run')
      .set('authorization', auth);
    const pending = inFlight.then((r) => r.status);
    await new Promise((resolve) => setTimeout(resolve, 200));
    gateway.child.kill('SIGTERM');

    expect(await pending).toBe(202);
    expect(await gateway.exited).toBe(0);
    expect(sims.map((s) => s.openSessions())).toEqual([0, 0]);
    expect(sims[0].counters.logouts + sims[1].counters.logouts).toBe(2);
    expect(gateway.output()).toMatch(/appliance session logged out/);
    sims[0].faults.clear();
    for (const sim of sims) sim.finishRunningJobs();
  });

  it('drains a run in flight, both its audit entries included, before it logs sessions out', async () => {
    const doc = document();
    const gateway = await spawnGateway(writeConfig(doc), env);
    const auth = `Bearer ${await idp.token({ ...RUN_AND_READ, scope: 'backups:run backups:read audit:read' })}`;
    sims[0].faults.set({ kind: 'latency', ms: 800, path: /action=run/ });
    const inFlight = request(gateway.url)
      .post('/appliances/vc-0/backups/schedules/default/run')
      .set('authorization', auth)
      .set('x-request-id', 'drained-run')
      .then((r) => r.status);
    await new Promise((resolve) => setTimeout(resolve, 200));
    gateway.child.kill('SIGTERM');
    expect(await inFlight).toBe(202);
    expect(await gateway.exited).toBe(0);
    sims[0].faults.clear();
    // Read back from the same store by the next process.
    const next = await spawnGateway(writeConfig(doc), env);
    const events = await request(next.url).get('/audit/events?requestId=drained-run').set('authorization', auth);
    expect(events.body.items.map((e: { stage: string; finalOutcome: string }) => [e.stage, e.finalOutcome])).toEqual([
      ['completed', 'accepted'],
      ['requested', 'accepted'],
    ]);
    next.child.kill('SIGTERM');
    await next.exited;
    for (const sim of sims) sim.finishRunningJobs();
  });

  it('a second SIGTERM exits at once (status 1), without waiting for a hanging request', async () => {
    const gateway = await spawnGateway(writeConfig({ ...document(), shutdownGraceMs: 60_000 }), env);
    const auth = `Bearer ${await idp.token(RUN_AND_READ)}`;
    sims[1].faults.set({ kind: 'hang', path: /action=run/ });
    void request(gateway.url)
      .post('/appliances/vc-1/backups/schedules/default/run')
      .set('authorization', auth)
      .then(
        () => undefined,
        () => undefined,
      );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    gateway.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(gateway.output()).toMatch(/second signal: exiting now/);
    sims[1].faults.clear();
  });

  it('refuses to start on a bad config, printing every problem with its path', async () => {
    const bad = {
      auth: { jwt: { issuer: '', audience: 'x', jwksUri: 'not a url', algorithms: ['none'] } },
      appliances: [
        { id: 'ok', url: 'https://vc.example', username: 'u', password: '${MISSING_PASSWORD}' },
        { id: '../bad', url: 'ftp://vc', username: 'u', password: 'p', timeoutMs: 'soon', colour: 'blue' },
      ],
      defaultAppliance: 'ok',
    };
    const gateway = await spawnGateway(writeConfig(bad), {}, false);
    const code = await gateway.exited;
    expect(code).not.toBe(0);
    const out = gateway.output();
    for (const problem of [
      'auth.jwt.issuer:',
      'auth.jwt.jwksUri: must be an http(s) URL',
      'auth.jwt.algorithms:',
      'appliances[0].password: environment variable MISSING_PASSWORD is not set',
      'appliances[1].id: must be 1 to 128 letters',
      'appliances[1].url: must be a URL',
      'appliances[1].timeoutMs:',
      'appliances[1].colour: unknown key',
    ]) {
      expect(out).toContain(problem);
    }
    expect(out).not.toMatch(/listening/);
  });

  it('refuses a missing config file', async () => {
    const gateway = await spawnGateway('/nonexistent/gateway.yaml', {}, false);
    expect(await gateway.exited).not.toBe(0);
    expect(gateway.output()).toMatch(/cannot read the file: ENOENT/);
  });
});
