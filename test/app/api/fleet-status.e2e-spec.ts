/**
 * Background status probes (fleet.backgroundProbes): the fleet's status stays known with no caller at all, each
 * appliance probed at its own moment of the interval rather than the whole fleet at once, and an appliance that calls
 * reach anyway is left alone. Real simulators over loopback; fleet.statusMaxAgeMs of a few seconds, so that passes
 * come quickly (a pass takes ¾ of it).
 */
import { API_KEY, startWorld, type World } from '../../support/fixture.js';
import { waitFor } from '../../support/wait-for.js';

const IDS = ['vc-a', 'vc-b', 'vc-c', 'vc-d'];

const call = (world: World, path: string) =>
  fetch(`${world.gateway.url}${path}`, { headers: { 'x-api-key': API_KEY } });

describe('background status probes', () => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.stop();
    world = undefined;
  });

  it('keeps every status known without a caller, each appliance probed at its own moment of the pass', async () => {
    world = await startWorld({ applianceIds: IDS, extra: { fleet: { statusMaxAgeMs: 2000, backgroundProbes: true } } });
    const sims = Object.values(world.appliances);
    // The first pass right after start-up (a small fleet: at once), so the list knows every status.
    await waitFor(() => sims.every((sim) => sim.counters.sessionGets >= 1), 5000);
    const answer = await call(world, '/appliances');
    expect(answer.status).toBe(200);
    const { items } = (await answer.json()) as { items: { id: string; status: string; lastCheckedAt: string }[] };
    expect(items.map((item) => [item.id, item.status])).toEqual(IDS.map((id) => [id, 'ok']));
    for (const item of items) expect(item.lastCheckedAt).not.toBeNull();
    // The next passes take 1.5 s over 4 appliances: one probe every ~375 ms.
    await waitFor(() => sims.every((sim) => sim.counters.sessionGets >= 2), 10_000);
    const second = sims.map(
      (sim) => sim.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/session'))[1].receivedAt,
    );
    // Spread over the pass, not sent together (all at once would land within a few ms of each other).
    expect(Math.max(...second) - Math.min(...second)).toBeGreaterThanOrEqual(500);
  });

  it('probes that come due close together go out together, at most twice a second', async () => {
    const eight = ['vc-1', 'vc-2', 'vc-3', 'vc-4', 'vc-5', 'vc-6', 'vc-7', 'vc-8'];
    world = await startWorld({
      applianceIds: eight,
      extra: { fleet: { statusMaxAgeMs: 2000, backgroundProbes: true } },
    });
    const sims = Object.values(world.appliances);
    await waitFor(() => sims.every((sim) => sim.counters.sessionGets >= 2), 10_000);
    // The second pass: 8 appliances over 1.5 s, one due every ~190 ms; ticks 500 ms apart send them in 3 or 4 groups
    // (a group's probes arrive within a few ms of each other), not in 8.
    const second = sims
      .map((sim) => sim.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/session'))[1].receivedAt)
      .sort((a, b) => a - b);
    const groups = 1 + second.slice(1).filter((at, i) => at - second[i] > 100).length;
    expect(groups).toBeLessThanOrEqual(4);
    expect(second[second.length - 1] - second[0]).toBeGreaterThanOrEqual(500);
  });

  it('does not probe an appliance that calls reach anyway', async () => {
    // Passes of 3 s; an appliance heard from within 4 - 3 - 0.1 = 0.9 s is still fresh at its next visit.
    world = await startWorld({
      applianceIds: IDS,
      extra: { fleet: { statusMaxAgeMs: 4000, probeTimeoutMs: 100, backgroundProbes: true } },
    });
    const sims = world.appliances;
    await waitFor(() => Object.values(sims).every((sim) => sim.counters.sessionGets >= 1), 5000);
    for (const sim of Object.values(sims)) sim.resetCounters();
    // vc-a is read every 100 ms through the next pass (its status is never older than that); the others are probed.
    const deadline = Date.now() + 4500;
    while (Date.now() < deadline) {
      expect((await call(world, '/appliances/vc-a/backups/jobs')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(sims['vc-b'].counters.sessionGets).toBeGreaterThanOrEqual(1);
    expect(sims['vc-a'].counters.sessionGets).toBe(0);
  });

  it('probes no faster than fleet.maxProbesPerSecond, however small statusMaxAgeMs is', async () => {
    world = await startWorld({
      applianceIds: IDS,
      extra: { fleet: { statusMaxAgeMs: 1000, maxProbesPerSecond: 1, backgroundProbes: true } },
    });
    const sims = Object.values(world.appliances);
    await waitFor(() => sims.every((sim) => sim.counters.sessionGets >= 1), 10_000);
    const first = sims.map(
      (sim) => sim.requests.find((r) => r.method === 'GET' && r.path.startsWith('/api/session'))?.receivedAt as number,
    );
    // One a second: the four first probes take 3 s (statusMaxAgeMs alone would have them all within 750 ms).
    expect(Math.max(...first) - Math.min(...first)).toBeGreaterThanOrEqual(2500);
  });

  it('sends nothing in the background when turned off', async () => {
    world = await startWorld({
      applianceIds: IDS,
      extra: { fleet: { statusMaxAgeMs: 1000, backgroundProbes: false } },
    });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    for (const sim of Object.values(world.appliances)) expect(sim.counters.requests).toBe(0);
  });

  it('with background probes off, a silent appliance holds the list no longer than probeTimeoutMs, login included', async () => {
    // The appliance's own timeout (6 s) bounds its calls; a status probe is bounded by fleet.probeTimeoutMs, and a
    // probe that finds no session yet must log in first: that login is part of the probe, not 10 s of its own.
    world = await startWorld({
      applianceIds: ['vc-a', 'vc-b'],
      applianceConfig: { 'vc-b': { timeoutMs: 6000 } },
      extra: { fleet: { statusMaxAgeMs: 60_000, probeTimeoutMs: 300, backgroundProbes: false } },
    });
    world.appliances['vc-b'].faults.set({ kind: 'hang', method: 'POST', path: '/api/session' });
    const started = Date.now();
    const answer = await call(world, '/appliances');
    const elapsed = Date.now() - started;
    expect(answer.status).toBe(200);
    expect(elapsed).toBeLessThan(3000);
    const { items } = (await answer.json()) as { items: { id: string; status: string; lastError?: string }[] };
    expect(items).toEqual([
      expect.objectContaining({ id: 'vc-a', status: 'ok' }),
      expect.objectContaining({ id: 'vc-b', status: 'unreachable', lastError: 'APPLIANCE_TIMEOUT' }),
    ]);
  }, 30_000);
});
