import request from 'supertest';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { startGateway, type TestGateway } from '../../support/gateway.js';
import { IdentityProvider } from '../../support/identity-provider.js';

/**
 * A fleet run needs each member's backup target (its schedule's location, read from the appliance) before the member
 * may start. Read in the member's own turn, that read came after the previous member's run, so the first run of a
 * fleet took two appliance round trips per member. They are read ahead: with one member at a time, the second
 * member's schedules are read while the first member's run is still being answered.
 */
const RUN_ANSWER_MS = 800;
const IDS = ['vc-1', 'vc-2', 'vc-3'];
const isScheduleRead = (r: { method: string; path: string }) =>
  r.method === 'GET' && r.path.includes('/recovery/backup/schedules') && !r.path.includes('action=run');
const isRun = (r: { method: string; path: string }) => r.method === 'POST' && r.path.includes('action=run');

describe('a fleet run reads its members’ targets ahead', () => {
  let idp: IdentityProvider;
  const sims: Record<string, ApplianceSimulator> = {};
  let gateway: TestGateway;

  beforeAll(async () => {
    idp = await new IdentityProvider().start();
    for (const id of IDS) {
      sims[id] = new ApplianceSimulator({
        username: APPLIANCE_USER,
        password: APPLIANCE_PASSWORD,
        schedules: {
          default: {
            parts: ['seat'],
            location: `sftp://nas-${id}.example.test/vcsa`,
            location_user: 'b',
            enable: true,
          },
        },
      });
      await sims[id].start();
    }
    gateway = await startGateway({
      auth: { jwt: idp.jwtConfig() },
      fleet: { concurrency: 1 },
      appliances: IDS.map((id) => ({
        id,
        url: sims[id].url,
        username: APPLIANCE_USER,
        password: APPLIANCE_PASSWORD,
        timeoutMs: 5000,
      })),
    });
  }, 60_000);
  afterAll(async () => {
    await gateway.close();
    await Promise.all(Object.values(sims).map((sim) => sim.stop()));
    await idp.stop();
  });

  it('the next member’s schedules are read while the run before it is still under way', async () => {
    // vc-1's run starts its job at once and answers late.
    sims['vc-1'].faults.set({ kind: 'latency', ms: RUN_ANSWER_MS, path: 'action=run', phase: 'after' });
    const token = await idp.token({ sub: 'ops', scope: 'backups:run backups:read' });
    const answer = await request(gateway.url)
      .post('/backups/runs')
      .set('authorization', `Bearer ${token}`)
      .send({ schedule: 'default', appliances: IDS });
    expect(answer.status).toBe(207);
    expect(answer.body.results.map((r: { status: number }) => r.status)).toEqual([202, 202, 202]);

    const firstRun = sims['vc-1'].requests.find(isRun);
    const secondRead = sims['vc-2'].requests.find(isScheduleRead);
    const secondRun = sims['vc-2'].requests.find(isRun);
    if (!firstRun || !secondRead || !secondRun) throw new Error('a run or a schedule read never reached its appliance');
    // Read before vc-1's run was answered (it took RUN_ANSWER_MS), so vc-2 did not wait a round trip for it after.
    expect(secondRead.receivedAt).toBeLessThan(firstRun.receivedAt + RUN_ANSWER_MS);
    // And one member at a time still: vc-2's run only after vc-1's answer.
    expect(secondRun.receivedAt).toBeGreaterThanOrEqual(firstRun.receivedAt + RUN_ANSWER_MS - 5);
  }, 30_000);
});
