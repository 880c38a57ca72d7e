/**
 * Background status probes (fleet.backgroundProbes): the fleet's status stays known with no caller at all, each
 * appliance probed at its own moment of the interval rather than the whole fleet at once, and an appliance that calls
 * reach anyway is left alone. Real simulators over loopback; fleet.statusMaxAgeMs at its minimum (1 s) and 2 s, so
 * that passes come quickly (a pass takes ¾ of it).
 */
import { API_KEY, startWorld, type World } from '../../support/fixture.js';
import { waitFor } from '../../support/wait-for.js';

const IDS = ['vc-a', 'vc-b', 'vc-c', 'vc-d'];

const call = (world: World, path: string) => fetch(`${world.gateway.url}${path}`, { headers: { 'x-api-key': API_KEY } });

/** When each appliance first received a status probe (GET /api/session), in configuration order. */
function firstProbes(world: World): (number | undefined)[] {
  return IDS.map(
    (id) =>
      world.appliances[id].requests.find((r) => r.method === 'GET' && r.path.startsWith('/api/session'))?.receivedAt,
  );
}

describe('background status probes', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.stop();
    world = undefined;
  });

  it('keeps every status known without a caller, each appliance probed at its own moment of the pass', async () => {
    world = await startWorld({ applianceIds: IDS, extra: { fleet: { statusMaxAgeMs: 2000 } } });
    const sims = Object.values(world.appliances);
    // A pass of 1.5 s over 4 appliances: one probe every ~375 ms, the first one pass after start-up.
    await waitFor(() => sims.every((sim) => sim.counters.sessionGets >= 1), 10_000);
    const arrivals = firstProbes(world) as number[];
    // Spread over the pass, not sent together (all at once would land within a few ms of each other).
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThanOrEqual(500);
    const answer = await call(world, '/appliances');
    expect(answer.status).toBe(200);
    const { items } = (await answer.json()) as { items: { id: string; status: string; lastCheckedAt: string }[] };
    expect(items.map((item) => [item.id, item.status])).toEqual(IDS.map((id) => [id, 'ok']));
    for (const item of items) expect(item.lastCheckedAt).not.toBeNull();
  });

  it('does not probe an appliance that calls reach anyway', async () => {
    world = await startWorld({ applianceIds: IDS, extra: { fleet: { statusMaxAgeMs: 1000 } } });
    const sims = world.appliances;
    // vc-a is read every 100 ms (its status is never older than that); the others are left to the probes.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      expect((await call(world, '/appliances/vc-a/backups/jobs')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const id of IDS.slice(1)) expect(sims[id].counters.sessionGets).toBeGreaterThanOrEqual(1);
    expect(sims['vc-a'].counters.sessionGets).toBe(0);
  });

  it('sends nothing in the background when turned off', async () => {
    world = await startWorld({ applianceIds: IDS, extra: { fleet: { statusMaxAgeMs: 1000, backgroundProbes: false } } });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    for (const sim of Object.values(world.appliances)) expect(sim.counters.requests).toBe(0);
  });
});
