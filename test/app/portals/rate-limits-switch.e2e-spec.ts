import request from 'supertest';
import { startWorld, type World } from '../../support/fixture.js';

const LIMITS = { runsPerMinute: 3, readsPerMinute: 5 };
const RUN_PATH = '/appliances/vc-a/backups/schedules/default/run';
const SCHEDULES_PATH = /backup\/schedules$/;

async function runs(world: World, sub: string, count: number): Promise<request.Response[]> {
  const token = await world.idp.token({ sub, scope: 'backups:run backups:read' });
  const answers = [];
  for (let i = 0; i < count; i++) {
    answers.push(await request(world.gateway.url).post(RUN_PATH).set('authorization', `Bearer ${token}`).send({}));
    world.appliances['vc-a'].finishRunningJobs();
  }
  return answers;
}

/**
 * `rateLimit.enabled: false` is for operators whose own edge limits callers: the per-minute limits are gone, and
 * nothing else is. One gateway at a time: passport's strategies are process-wide.
 */
describe('rateLimit.enabled', () => {
  describe('by default (enabled)', () => {
    let world: World;
    beforeAll(async () => {
      world = await startWorld({ extra: { rateLimit: LIMITS } });
    });
    afterAll(() => world.stop());

    it('a caller past runsPerMinute gets 429 RATE_LIMITED', async () => {
      const answers = await runs(world, 'default-caller', LIMITS.runsPerMinute + 2);
      expect(answers.map((r) => r.status)).toEqual([202, 202, 202, 429, 429]);
      expect(answers[3].body.code).toBe('RATE_LIMITED');
    });
  });

  describe('false', () => {
    let world: World;
    beforeAll(async () => {
      world = await startWorld({
        extra: { rateLimit: { ...LIMITS, enabled: false }, limits: { maxInFlightPerCaller: 2 } },
        applianceConfig: { 'vc-a': { timeoutMs: 5000 } },
      });
    });
    afterAll(() => world.stop());

    it('a caller runs past runsPerMinute and reads past readsPerMinute, never refused, without RateLimit headers', async () => {
      const answers = await runs(world, 'edge-limited', LIMITS.runsPerMinute * 3);
      expect(answers.map((r) => r.status)).toEqual(Array(LIMITS.runsPerMinute * 3).fill(202));
      expect(answers.some((r) => r.headers['ratelimit-limit'] !== undefined)).toBe(false);
      const reader = await world.idp.token({ sub: 'edge-reader', scope: 'backups:read' });
      for (let i = 0; i < LIMITS.readsPerMinute * 3; i++) {
        await request(world.gateway.url).get('/appliances').set('authorization', `Bearer ${reader}`).expect(200);
      }
    });

    it('the other limits still hold (requests at once per caller)', async () => {
      const greedy = `Bearer ${await world.idp.token({ sub: 'greedy', scope: 'backups:read' })}`;
      const sim = world.appliances['vc-a'];
      await request(world.gateway.url).get('/appliances/vc-a/backups/schedules').set('authorization', greedy);
      // Held 1.5 s at the appliance: the 5 requests are under way together.
      sim.faults.set({ kind: 'latency', ms: 1500, path: SCHEDULES_PATH });
      try {
        const answers = await Promise.all(
          Array.from({ length: 5 }, () =>
            request(world.gateway.url).get('/appliances/vc-a/backups/schedules').set('authorization', greedy),
          ),
        );
        expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429]);
        expect(answers.find((r) => r.status === 429)?.body.code).toBe('TOO_MANY_REQUESTS');
      } finally {
        sim.faults.clear();
      }
    });
  });
});
