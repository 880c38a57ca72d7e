import request from 'supertest';
import { API_KEY, startWorld, World } from '../../support/fixture.js';

const RUN = '/appliances/vc-a/backups/schedules/default/run';

/** The caller's address as the audit trail records it, for a run sent with the given X-Forwarded-For. */
async function recordedIp(world: World, forwardedFor: string): Promise<string> {
  const run = await request(world.gateway.url)
    .post(RUN)
    .set('x-api-key', API_KEY)
    .set('x-forwarded-for', forwardedFor)
    .expect(202);
  world.appliances['vc-a'].finishRunningJobs();
  const reader = await world.idp.token({ scope: 'audit:read' });
  const events = await request(world.gateway.url)
    .get('/audit/events')
    .query({ requestId: run.body.requestId, stage: 'requested' })
    .auth(reader, { type: 'bearer' })
    .expect(200);
  expect(events.body.items).toHaveLength(1);
  return events.body.items[0].actor.ip;
}

describe('trustedProxies: whose address the audit trail records', () => {
  it('ignores X-Forwarded-For by default: anyone could forge it', async () => {
    const world = await startWorld();
    try {
      expect(await recordedIp(world, '203.0.113.7')).toBe('127.0.0.1');
    } finally {
      await world.stop();
    }
  });

  it('believes X-Forwarded-For from a configured proxy, and only the hops that proxy vouches for', async () => {
    const world = await startWorld({ extra: { trustedProxies: ['127.0.0.1/32'] } });
    try {
      expect(await recordedIp(world, '203.0.113.7')).toBe('203.0.113.7');
      // The client itself claimed 198.51.100.1 in front of 203.0.113.7: only our proxy's word (the last hop) counts.
      expect(await recordedIp(world, '198.51.100.1, 203.0.113.7')).toBe('203.0.113.7');
    } finally {
      await world.stop();
    }
  });
});
