import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { auditClient } from '../../support/audit-client.js';
import { stopGateway } from '../../support/gateway-processes.js';
import { restartableGateway } from '../../support/restartable-gateway.js';
import { waitFor } from '../../support/wait-for.js';

/**
 * The store fails between a run's two stages: its `requested` entry is committed, then another connection holds
 * SQLite's write lock while the appliance answers, so the `completed` entry cannot be written before the caller
 * gets the 202. The gateway is then killed (SIGKILL) and started again on the same files: the completion must not
 * have lived only in that process's memory.
 */
describe('a completion the store could not take survives SIGKILL (the audit spool)', () => {
  const world = restartableGateway();

  it('is written to the store by the next process, and the chain verifies', async () => {
    const dbPath = join(dirname(world.configPath), 'audit.db');
    const spoolPath = join(dirname(world.configPath), 'audit-spool.ndjson');
    const authorization = `Bearer ${await world.idp.token({ scope: 'backups:run audit:read' })}`;
    const first = await world.start();

    world.sim.faults.add({ kind: 'latency', ms: 1000, path: 'action=run', times: 1 });
    const answer = fetch(`${first.url}/appliances/vc-a/backups/schedules/default/run`, {
      method: 'POST',
      headers: { authorization, 'x-request-id': 'spooled' },
    });
    // The run reached the appliance, so its requested entry is committed; now the store stops taking writes.
    await waitFor(() => world.sim.counters.runs === 1);
    const lock = new Database(dbPath);
    lock.exec('BEGIN EXCLUSIVE');
    let response: Response;
    try {
      response = await answer;
      expect(response.status).toBe(202);
      const spooled = readFileSync(spoolPath, 'utf8').split('\n').filter(Boolean);
      expect(spooled.map((line) => JSON.parse(line))).toEqual([
        expect.objectContaining({ requestId: 'spooled', stage: 'completed', outcome: 'accepted' }),
      ]);
      await stopGateway(first, 'SIGKILL');
    } finally {
      lock.exec('COMMIT');
      lock.close();
    }
    const job = ((await response.json()) as { job: { id: string } }).job.id;
    const stored = new Database(dbPath, { readonly: true });
    expect(stored.prepare("SELECT stage FROM audit_entries WHERE request_id = 'spooled'").all()).toEqual([
      { stage: 'requested' },
    ]);
    stored.close();

    const second = await world.start();
    const audit = auditClient(second.url, authorization);
    await waitFor(async () => (await audit.forRequest('spooled')).completed.length === 1);
    const { requested, completed } = await audit.forRequest('spooled');
    expect(completed).toEqual([
      expect.objectContaining({ outcome: 'accepted', jobId: job, requestedId: requested[0].id }),
    ]);
    expect(requested[0].finalOutcome).toBe('accepted');
    expect(await audit.verify()).toEqual({ ok: true, count: 2 });
    await waitFor(() => !existsSync(spoolPath) || readFileSync(spoolPath, 'utf8') === '');
    expect(second.output()).not.toContain('"level":"error"');
  });
});
