import { readFileSync, writeFileSync } from 'node:fs';
import request from 'supertest';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER, RUN_AND_READ } from '../../support/fixture.js';
import { spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { tempDir } from '../../support/temp-dir.js';

/** SIGHUP re-reads the appliance list: no restart to add a vCenter, nothing dropped. */
describe('reloading the appliance list on SIGHUP', () => {
  let idp: IdentityProvider;
  let a: ApplianceSimulator;
  let b: ApplianceSimulator;

  beforeAll(async () => {
    idp = await new IdentityProvider().start();
    a = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    b = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await Promise.all([a.start(), b.start()]);
  });
  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await idp.stop();
  });

  it('adds and removes appliances without dropping in-flight requests; a bad file changes nothing', async () => {
    const entry = (id: string, sim: ApplianceSimulator) => ({
      id,
      url: sim.url,
      username: APPLIANCE_USER,
      password: '${VC_PASSWORD}',
    });
    const base = { auth: { jwt: idp.jwtConfig() }, audit: { sqlite: { path: `${tempDir()}/audit.db` } } };
    const path = writeConfig({ ...base, appliances: [entry('vc-a', a)] });
    const gateway = await spawnGateway(path, { VC_PASSWORD: APPLIANCE_PASSWORD });
    const auth = `Bearer ${await idp.token(RUN_AND_READ)}`;
    const runOn = (id: string) =>
      request(gateway.url).post(`/appliances/${id}/backups/schedules/default/run`).set('authorization', auth);
    try {
      await runOn('vc-b').expect(404);
      a.faults.set({ kind: 'latency', ms: 1000, path: 'action=run' });
      const inFlight = runOn('vc-a').then((r) => r.status);
      await new Promise((resolve) => setTimeout(resolve, 300));

      writeFileSync(path, JSON.stringify({ ...base, appliances: [entry('vc-b', b)] }));
      gateway.child.kill('SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, 300));

      await runOn('vc-b').expect(202);
      expect(await inFlight).toBe(202);
      expect(a.counters.jobsStarted).toBe(1);
      await runOn('vc-a').expect(404);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(a.openSessions()).toBe(0); // the removed appliance's session was logged out after its request
      expect(gateway.output()).toMatch(/configuration reloaded/);

      writeFileSync(
        path,
        JSON.stringify({ ...base, appliances: [entry('vc-a', a), { id: 'vc-c', url: 'not a url' }] }),
      );
      gateway.child.kill('SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(gateway.output()).toMatch(/configuration reload rejected/);
      expect(gateway.output()).toContain('appliances[1].url: must be a URL');
      b.finishRunningJobs();
      await runOn('vc-b').expect(202);
      await runOn('vc-a').expect(404);
    } finally {
      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
    }
    expect(b.openSessions()).toBe(0);
  });
  it('applies a new name and tags at once (fleet runs by tag follow), and names each setting that needs a restart', async () => {
    const entry = (id: string, sim: ApplianceSimulator, extra: Record<string, unknown>) => ({
      id,
      url: sim.url,
      username: APPLIANCE_USER,
      password: '${VC_PASSWORD}',
      ...extra,
    });
    const path = writeConfig({
      auth: { jwt: idp.jwtConfig() },
      audit: { sqlite: { path: `${tempDir()}/audit.db` } },
      appliances: [entry('vc-a', a, { name: 'Alpha', tags: ['prod'] }), entry('vc-b', b, { tags: ['prod'] })],
    });
    const gateway = await spawnGateway(path, { VC_PASSWORD: APPLIANCE_PASSWORD });
    const auth = `Bearer ${await idp.token(RUN_AND_READ)}`;
    const fleetRun = async (tag: string) => {
      const response = await request(gateway.url)
        .post('/backups/runs')
        .set('authorization', auth)
        .send({ schedule: 'default', tags: [tag] })
        .expect(207);
      return (response.body.results as { appliance: string }[]).map((result) => result.appliance).sort();
    };
    try {
      a.finishRunningJobs();
      b.finishRunningJobs();
      expect(await fleetRun('prod')).toEqual(['vc-a', 'vc-b']);
      a.finishRunningJobs();
      b.finishRunningJobs();
      const loginsBefore = a.counters.logins;

      const document = JSON.parse(readFileSync(path, 'utf8'));
      document.appliances[0] = entry('vc-a', a, { name: 'Alpha (retired)', tags: ['lab'] });
      document.rateLimit = { ...document.rateLimit, runsPerMinute: 50_000 };
      document.shutdownGraceMs = 2000;
      writeFileSync(path, JSON.stringify(document));
      gateway.child.kill('SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, 300));

      expect(await fleetRun('prod')).toEqual(['vc-b']); // vc-a lost the tag: no backup started on it
      expect(await fleetRun('lab')).toEqual(['vc-a']);
      const listed = await request(gateway.url).get('/appliances').set('authorization', auth).expect(200);
      expect(listed.body.items ?? listed.body).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: 'vc-a', name: 'Alpha (retired)', tags: ['lab'] })]),
      );
      // Only descriptive fields changed: the appliance kept its session (no new login for the run on it).
      expect(a.counters.logins).toBe(loginsBefore);
      const reloaded = gateway
        .output()
        .split('\n')
        .filter((line) => line.includes('configuration reloaded'))
        .map((line) => JSON.parse(line));
      expect(reloaded).toEqual([
        expect.objectContaining({ updated: ['vc-a'], restartNeeded: ['rateLimit.runsPerMinute', 'shutdownGraceMs'] }),
      ]);
      expect(gateway.output()).toMatch(/take effect only after a restart/);
    } finally {
      a.finishRunningJobs();
      b.finishRunningJobs();
      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
    }
  });
});
