import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { auditClient, byRequestId } from '../../support/audit-client.js';
import { burst, runRequestIds, stopGateway } from '../../support/gateway-processes.js';
import { restartableGateway } from '../../support/restartable-gateway.js';
import { waitFor } from '../../support/wait-for.js';

const BURST = 40;
/** Runs the appliance answers at once; it holds every later one until the gateway dies. */
const ANSWERED = 10;

/**
 * The gateway killed with SIGKILL in the middle of a burst of runs, then started again on the same SQLite file:
 * nothing the appliance received or the client was told is missing from the trail, and the chain verifies.
 */
describe('a gateway killed mid-burst (SIGKILL) and restarted', () => {
  const world = restartableGateway();

  it('writes its SQLite audit database beside its config (the default store)', () => {
    expect(readFileSync(world.configPath, 'utf8')).toContain(join(dirname(world.configPath), 'audit.db'));
  });

  it('keeps a requested entry for every run sent, a completed one for every 202, and one valid chain', async () => {
    const authorization = `Bearer ${await world.idp.token({ scope: 'backups:run audit:read' })}`;
    const first = await world.start();

    world.sim.faults.add({ kind: 'latency', ms: 0, path: 'action=run', times: ANSWERED });
    world.sim.faults.add({ kind: 'hang', path: 'action=run' });
    const fired = burst(first.url, { count: BURST, prefix: 'burst', appliance: 'vc-a', authorization });
    // Mid-burst: some runs answered, more held at the appliance, the rest anywhere on their way.
    await waitFor(() => fired.answered.length === ANSWERED && world.sim.counters.runs >= ANSWERED + 5, 15_000);
    await stopGateway(first, 'SIGKILL');
    expect(first.child.signalCode).toBe('SIGKILL');
    const results = await fired.results;
    world.sim.faults.clear();

    const accepted = results.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(ANSWERED);
    expect(results.filter((r) => r.status === undefined)).toHaveLength(BURST - ANSWERED);
    const received = runRequestIds(world.sim);
    expect(received.length).toBeGreaterThanOrEqual(ANSWERED + 5);

    const second = await world.start();
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
