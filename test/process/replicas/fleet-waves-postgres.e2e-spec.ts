import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { assertBuildIsFresh } from '../../support/built.js';
import { type GatewayProcess, spawnGateway, writeConfig } from '../../support/gateway-process.js';
import {
  APPLIANCE_ENV,
  NAS_TARGET as NAS,
  nasSimulators,
  processDocument,
  runningOn,
  stopGateway,
} from '../../support/gateway-processes.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { describePostgres, dropSchema, freshSchema } from '../../support/postgres.js';
import { waitFor } from '../../support/wait-for.js';

const PER_TARGET = 2;

interface FleetRunView {
  state: string;
  members: { appliance: string; state: string; target: string; jobId?: string }[];
}

/**
 * Two gateway processes on one PostgreSQL share the backup targets' room: `fleet.perTargetConcurrency` counts the
 * backups both started (a 207 request at each replica at once starts no more than the limit between them), and a
 * fleet run in waves whose coordinating replica dies (SIGKILL) is carried on by the other once its lease has passed,
 * never more than the limit on the target, every appliance backed up once.
 */
describePostgres('fleet runs in waves from two replicas sharing PostgreSQL', (url) => {
  const schema = freshSchema('fleet_replicas');
  const ids = ['vc-1', 'vc-2', 'vc-3', 'vc-4', 'vc-5', 'vc-6'];
  let idp: IdentityProvider;
  let sims: Record<string, ApplianceSimulator> = {};
  let configPath: string;
  let gateways: GatewayProcess[] = [];
  let auth: string;
  /** The most backups seen running at once on the shared target, sampled while the test runs. */
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;

  const running = () => runningOn(sims);
  const started = () => ids.reduce((sum, id) => sum + sims[id].counters.jobsStarted, 0);

  beforeAll(async () => {
    assertBuildIsFresh('dist/main.js');
    idp = await new IdentityProvider().start();
    sims = await nasSimulators(ids);
    configPath = writeConfig({
      ...processDocument(idp, sims, { store: 'postgres', postgres: { url, schema } }),
      jobs: { pollIntervalMs: 100 },
      fleet: { perTargetConcurrency: PER_TARGET, leaseMs: 1500 },
    });
    gateways = await Promise.all([0, 1].map(() => spawnGateway(configPath, APPLIANCE_ENV)));
    auth = `Bearer ${await idp.token({ sub: 'ops', scope: 'backups:run backups:read' })}`;
    sampler = setInterval(() => {
      peak = Math.max(peak, running().length);
    }, 10);
  });
  afterAll(async () => {
    if (sampler) clearInterval(sampler);
    await Promise.all(gateways.map((gateway) => stopGateway(gateway, 'SIGKILL')));
    await Promise.all(Object.values(sims).map((sim) => sim.stop()));
    await idp?.stop();
    await dropSchema(url, schema);
    if (configPath) rmSync(dirname(configPath), { recursive: true, force: true });
  });

  const post = (gateway: GatewayProcess, appliances: string[], prefer?: string) =>
    fetch(`${gateway.url}/backups/runs`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', ...(prefer && { prefer }) },
      body: JSON.stringify({ schedule: 'default', appliances }),
    });
  const read = async (gateway: GatewayProcess, location: string) =>
    (await (await fetch(`${gateway.url}${location}`, { headers: { authorization: auth } })).json()) as FleetRunView;

  it('counts the target across replicas: a 207 request at each at once starts no more than the limit', async () => {
    const answers = await Promise.all([post(gateways[0], ids.slice(0, 3)), post(gateways[1], ids.slice(3))]);
    expect(answers.map((answer) => answer.status)).toEqual([207, 207]);
    const results = (
      await Promise.all(
        answers.map(
          async (answer) => ((await answer.json()) as { results: { status: number; problem?: unknown }[] }).results,
        ),
      )
    ).flat();
    expect(results.filter((r) => r.status === 202)).toHaveLength(PER_TARGET);
    const busy = results.filter((r) => r.status === 409);
    expect(busy).toHaveLength(ids.length - PER_TARGET);
    for (const refusal of busy) expect(refusal.problem).toMatchObject({ code: 'TARGET_BUSY', target: NAS });
    expect(started()).toBe(PER_TARGET);
    expect(running()).toHaveLength(PER_TARGET);

    // Their ends make room, seen by whichever replica follows them: then every appliance on the target can start.
    for (const id of running()) sims[id].finishRunningJobs();
    await waitFor(async () => {
      const retry = await post(gateways[1], ids.filter((id) => sims[id].counters.jobsStarted === 0).slice(0, 1));
      const body = (await retry.json()) as { results: { status: number }[] };
      return body.results[0].status === 202;
    }, 30_000);
    await waitFor(() => running().length === 1, 10_000);
    for (const id of running()) sims[id].finishRunningJobs();
    expect(peak).toBeLessThanOrEqual(PER_TARGET);
  }, 90_000);

  it('carries a queued fleet run on at the other replica when its coordinator is killed', async () => {
    // The previous test's last job may still hold its slot until a replica has followed it to its end: the queue
    // waits for that room like any other.
    const before = Object.fromEntries(ids.map((id) => [id, sims[id].counters.jobsStarted]));
    const accepted = await post(gateways[0], ids, 'respond-async');
    expect(accepted.status).toBe(202);
    const location = accepted.headers.get('location') as string;
    await waitFor(() => running().length === PER_TARGET, 30_000);
    // Killed once it has recorded the jobs it started (killed while sending, a member would be `unknown`).
    await waitFor(async () => {
      const run = await read(gateways[1], location);
      return run.members.filter((m) => m.jobId !== undefined).length === PER_TARGET;
    }, 30_000);
    await stopGateway(gateways[0], 'SIGKILL');
    const survivor = gateways[1];

    // The survivor takes the run over once the lease has passed, and starts the queue as the target has room.
    while (ids.some((id) => sims[id].counters.jobsStarted === before[id])) {
      await waitFor(() => running().length > 0, 30_000);
      expect(running().length).toBeLessThanOrEqual(PER_TARGET);
      for (const id of running()) sims[id].finishRunningJobs();
    }
    for (const id of running()) sims[id].finishRunningJobs();
    await waitFor(async () => (await read(survivor, location)).state === 'completed', 30_000);
    const run = await read(survivor, location);
    expect(run.members.map((m) => m.state)).toEqual(ids.map(() => 'succeeded'));
    expect(run.members.map((m) => m.target)).toEqual(ids.map(() => NAS));
    // Every appliance backed up exactly once by the run, whichever replica sent it.
    expect(ids.map((id) => sims[id].counters.jobsStarted - before[id])).toEqual(ids.map(() => 1));
    expect(peak).toBeLessThanOrEqual(PER_TARGET);
  }, 120_000);
});
