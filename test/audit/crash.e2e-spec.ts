import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApplianceSimulator } from '../../tools/simulator/appliance-simulator.js';
import { auditClient, byRequestId } from '../support/audit-client.js';
import { assertBuildIsFresh } from '../support/built.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../support/fixture.js';
import { type GatewayProcess, spawnGateway, writeConfig } from '../support/gateway-process.js';
import { APPLIANCE_ENV, burst, processDocument, runRequestIds, stopGateway } from '../support/gateway-processes.js';
import { IdentityProvider } from '../support/identity-provider.js';
import { waitFor } from '../support/wait-for.js';

const BURST = 40;
/** Runs the appliance answers at once; it holds every later one until the gateway dies. */
const ANSWERED = 10;

/**
 * The gateway killed with SIGKILL in the middle of a burst of runs, then started again on the same SQLite file:
 * nothing the appliance received or the client was told is missing from the trail, and the chain verifies.
 */
describe('a gateway killed mid-burst (SIGKILL) and restarted', () => {
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;
  let configPath: string;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    assertBuildIsFresh('dist/main.js');
    idp = await new IdentityProvider().start();
    // Jobs end at once, so no run is refused for another one in progress: every answered run is a 202.
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD, jobDurationMs: 0 });
    await sim.start();
    configPath = writeConfig(processDocument(idp, { 'vc-a': sim }));
    // The default store, in the config's temp dir: SQLite.
    expect(readFileSync(configPath, 'utf8')).toContain(join(dirname(configPath), 'audit.db'));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => stopGateway(gateway, 'SIGKILL')));
    await sim.stop();
    await idp.stop();
    rmSync(dirname(configPath), { recursive: true, force: true });
  });

  async function start(): Promise<GatewayProcess> {
    const gateway = await spawnGateway(configPath, APPLIANCE_ENV);
    gateways.push(gateway);
    expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(200);
    return gateway;
  }

  it('keeps a requested entry for every run sent, a completed one for every 202, and one valid chain', async () => {
    const authorization = `Bearer ${await idp.token({ scope: 'backups:run audit:read' })}`;
    const first = await start();

    sim.faults.add({ kind: 'latency', ms: 0, path: 'action=run', times: ANSWERED });
    sim.faults.add({ kind: 'hang', path: 'action=run' });
    const fired = burst(first.url, { count: BURST, prefix: 'burst', appliance: 'vc-a', authorization });
    // Mid-burst: some runs answered, more held at the appliance, the rest anywhere on their way.
    await waitFor(() => fired.answered.length === ANSWERED && sim.counters.runs >= ANSWERED + 5, 15_000);
    await stopGateway(first, 'SIGKILL');
    expect(first.child.signalCode).toBe('SIGKILL');
    const results = await fired.results;
    sim.faults.clear();

    const accepted = results.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(ANSWERED);
    expect(results.filter((r) => r.status === undefined)).toHaveLength(BURST - ANSWERED);
    const received = runRequestIds(sim);
    expect(received.length).toBeGreaterThanOrEqual(ANSWERED + 5);

    const second = await start();
    const audit = auditClient(second.url, authorization);
    const { events } = await audit.export();
    const byRequest = byRequestId(events);

    // Every run the appliance received was recorded before it was sent.
    for (const requestId of received) {
      expect({ requestId, requested: byRequest.get(requestId)?.requested.length }).toEqual({ requestId, requested: 1 });
    }
    // Every 202 the client got was recorded as completed before it was sent, naming the job it reported.
    for (const { requestId, body } of accepted) {
      const { requested, completed } = byRequest.get(requestId) ?? { requested: [], completed: [] };
      expect(completed).toEqual([
        expect.objectContaining({
          outcome: 'accepted',
          httpStatus: 202,
          jobId: body?.job?.id,
          requestedId: requested[0]?.id,
        }),
      ]);
      expect(requested[0].finalOutcome).toBe('accepted');
    }
    // Runs that never completed (held at the appliance, or not yet sent) read as unknown: they may have started.
    const open = events.filter((e) => e.stage === 'requested' && !byRequest.get(e.requestId)?.completed.length);
    expect(open.length).toBeGreaterThanOrEqual(received.length - ANSWERED);
    for (const entry of open) expect(entry.finalOutcome).toBe('unknown');
    // Nothing was recorded that did not happen: only the burst's runs, and at most one pair each.
    expect(events.every((e) => e.requestId.startsWith('burst-'))).toBe(true);
    expect([...byRequest.values()].every((run) => run.requested.length === 1 && run.completed.length <= 1)).toBe(true);
    expect(events.filter((e) => e.stage === 'completed')).toHaveLength(ANSWERED);
    expect(await audit.verify()).toEqual({ ok: true, count: events.length });

    // The restarted gateway carries the chain on.
    const after = await fetch(`${second.url}/appliances/vc-a/backups/schedules/default/run`, {
      method: 'POST',
      headers: { authorization, 'x-request-id': 'after-restart' },
    });
    expect(after.status).toBe(202);
    expect((await audit.forRequest('after-restart')).all.map((e) => e.finalOutcome)).toEqual(['accepted', 'accepted']);
    expect(await audit.verify()).toEqual({ ok: true, count: events.length + 2 });
  });
});
