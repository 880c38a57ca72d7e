import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { assertBuildIsFresh } from '../../support/built.js';
import { type GatewayProcess, spawnGateway, writeConfig } from '../../support/gateway-process.js';
import {
  APPLIANCE_ENV,
  NAS_TARGET,
  nasSimulators,
  processDocument,
  runningOn,
  stopGateway,
} from '../../support/gateway-processes.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { waitFor } from '../../support/wait-for.js';

/**
 * A fleet run in waves outlives the gateway process that accepted it: killed in the middle of the queue (SIGKILL, no
 * goodbye), a new gateway process on the same SQLite file takes the run over once its lease has passed, follows the
 * job that was running and starts the queued members, one at a time on their shared target, as before.
 */
describe('a fleet run in waves across a gateway crash', () => {
  const ids = ['vc-1', 'vc-2', 'vc-3'];
  let idp: IdentityProvider;
  let sims: Record<string, ApplianceSimulator> = {};
  let configPath: string;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    assertBuildIsFresh('dist/main.js');
    idp = await new IdentityProvider().start();
    sims = await nasSimulators(ids);
    configPath = writeConfig({
      ...processDocument(idp, sims),
      jobs: { pollIntervalMs: 100 },
      fleet: { perTargetConcurrency: 1, leaseMs: 1500 },
    });
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => stopGateway(gateway, 'SIGKILL')));
    await Promise.all(Object.values(sims).map((sim) => sim.stop()));
    await idp?.stop();
    if (configPath) rmSync(dirname(configPath), { recursive: true, force: true });
  });

  const start = async () => {
    const gateway = await spawnGateway(configPath, APPLIANCE_ENV);
    gateways.push(gateway);
    return gateway;
  };

  it('resumes the queue on the same SQLite file, never more than the limit on the target', async () => {
    const auth = `Bearer ${await idp.token({ sub: 'ops', scope: 'backups:run backups:read' })}`;
    const first = await start();
    const accepted = await fetch(`${first.url}/backups/runs`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ schedule: 'default', appliances: ids }),
    });
    expect(accepted.status).toBe(202);
    const location = accepted.headers.get('location') as string;
    await waitFor(() => runningOn(sims).length === 1, 30_000);
    expect(runningOn(sims)).toEqual(['vc-1']);
    // Killed once the first process has recorded the job it started (killed while sending, the member would be
    // `unknown`: the backup may have started).
    await waitFor(async () => {
      const run = (await (await fetch(`${first.url}${location}`, { headers: { authorization: auth } })).json()) as {
        members: { jobId?: string }[];
      };
      return run.members[0].jobId !== undefined;
    }, 30_000);

    await stopGateway(first, 'SIGKILL');
    sims['vc-1'].finishRunningJobs();
    const second = await start();
    const read = async () =>
      (await (await fetch(`${second.url}${location}`, { headers: { authorization: auth } })).json()) as {
        state: string;
        members: { appliance: string; state: string; target: string }[];
      };
    expect((await read()).members.map((m) => m.target)).toEqual(Array(3).fill(NAS_TARGET));

    // The new process sees the first job end, then starts the others one at a time as each ends.
    for (const id of ['vc-2', 'vc-3']) {
      await waitFor(() => runningOn(sims).length === 1, 30_000);
      expect(runningOn(sims)).toEqual([id]);
      sims[id].finishRunningJobs();
    }
    await waitFor(async () => (await read()).state === 'completed', 30_000);
    expect((await read()).members.map((m) => m.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(ids.map((id) => sims[id].counters.jobsStarted)).toEqual([1, 1, 1]);
    // One at a time on the target, across both processes: each job started after the one before it ended.
    const jobs = ids.map((id) => sims[id].startedJobs()[0]);
    expect(jobs[1].startedAt).toBeGreaterThanOrEqual(jobs[0].endedAt as number);
    expect(jobs[2].startedAt).toBeGreaterThanOrEqual(jobs[1].endedAt as number);
  }, 120_000);
});
