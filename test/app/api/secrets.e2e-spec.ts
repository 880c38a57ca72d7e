import request from 'supertest';
import { API_KEY, APPLIANCE_PASSWORD, RUN_AND_READ, startWorld, World } from '../../support/fixture.js';

/** Secrets never appear in a response or a log line, whatever goes wrong. */
describe('secrets', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ applianceConfig: { 'vc-a': { timeoutMs: 300 } } });
  });
  afterAll(() => world.stop());

  it('stay out of every response and log line across successes and failures', async () => {
    const sim = world.appliances['vc-a'];
    const token = await world.idp.token(RUN_AND_READ);
    const expired = await world.idp.token(RUN_AND_READ, { expiresInSeconds: -3600 });
    const bodies: string[] = [];
    const call = async (test: request.Test) => {
      const response = await test;
      bodies.push(JSON.stringify(response.headers), response.text);
      return response;
    };
    const run = (headers: Record<string, string>) =>
      call(
        request(world.gateway.url)
          .post('/appliances/vc-a/backups/schedules/default/run')
          .set(headers)
          .send({ comment: 'secret test' }),
      );

    await run({ authorization: `Bearer ${token}` });
    sim.finishRunningJobs();
    await run({ authorization: `Bearer ${expired}` });
    await run({ 'x-api-key': `${API_KEY}-wrong` });
    await run({ 'x-api-key': API_KEY });
    sim.finishRunningJobs();
    for (const fault of [
      { kind: 'status', status: 500 },
      { kind: 'reset' },
      { kind: 'hang' },
      { kind: 'malformed' },
      { kind: 'sessionLimit' },
    ] as const) {
      sim.faults.set({ ...fault, path: /action=run|api\/session/ });
      sim.expireAllSessions();
      await run({ authorization: `Bearer ${token}` });
    }
    sim.faults.set({ kind: 'rejectCredentials' });
    await run({ authorization: `Bearer ${token}` });
    sim.faults.clear();
    await call(request(world.gateway.url).get('/appliances').set('authorization', `Bearer ${token}`));
    await call(request(world.gateway.url).get('/docs-json'));
    await world.gateway.app.close();

    const sessionTokens = [
      ...new Set(
        sim.requests.map((r) => r.headers['vmware-api-session-id']).filter((t): t is string => typeof t === 'string'),
      ),
    ];
    expect(sessionTokens.length).toBeGreaterThanOrEqual(1);
    const basic = sim.requests.find((r) => r.path === '/api/session' && r.method === 'POST')?.headers.authorization;
    expect(basic).toMatch(/^Basic /);
    const secrets = [
      APPLIANCE_PASSWORD,
      API_KEY,
      token,
      expired,
      basic as string,
      (basic as string).slice(6),
      ...sessionTokens,
    ];

    const logs = world.gateway.logs.join('\n');
    expect(world.gateway.logs.length).toBeGreaterThan(20);
    for (const secret of secrets) {
      expect(logs).not.toContain(secret);
      for (const body of bodies) expect(body).not.toContain(secret);
    }
  });
});
