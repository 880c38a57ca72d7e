import request from 'supertest';
import { ApplianceSimulator, type ScheduleInfo } from '../../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { startGateway, type TestGateway } from '../../support/gateway.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { waitFor } from '../../support/wait-for.js';

/**
 * Fleet runs in waves through HTTP: seven simulated appliances, five writing their backups to one NAS and two to
 * another (as each reports its schedule's location), at most two backups per target. Jobs run until the test ends
 * them at the simulators (finishRunningJobs), so every wave is the test's to release.
 */
const PER_TARGET = 2;
const NAS_A = 'sftp://nas-a.example.test:22';
const NAS_B = 'sftp://nas-b.example.test:2222';
const ON_A = ['vc-1', 'vc-2', 'vc-3', 'vc-4', 'vc-5'];
const ON_B = ['vc-6', 'vc-7'];

function scheduleAt(location: string): Record<string, ScheduleInfo> {
  return { default: { parts: ['seat'], location, location_user: 'backup', enable: true } };
}

interface Member {
  appliance: string;
  target: string;
  state: string;
  jobId?: string;
  error?: { code: string };
}

/** Most jobs that ran at once on these simulators, from the start and end times the simulators themselves keep. */
function peakOverlap(sims: ApplianceSimulator[]): number {
  const now = Date.now();
  const edges = sims
    .flatMap((sim) => sim.startedJobs())
    .flatMap((job) => [
      { at: job.startedAt, step: 1 },
      { at: job.endedAt ?? Math.max(now, job.startedAt + 1), step: -1 },
    ])
    // An end and a start at the same millisecond: the end first (the gateway only starts after it saw the end).
    .sort((a, b) => a.at - b.at || a.step - b.step);
  let running = 0;
  let peak = 0;
  for (const edge of edges) {
    running += edge.step;
    peak = Math.max(peak, running);
  }
  return peak;
}

describe('fleet runs in waves per backup target', () => {
  let idp: IdentityProvider;
  const sims: Record<string, ApplianceSimulator> = {};
  let gateway: TestGateway;
  let auth: string;

  const on = (ids: string[]) => ids.map((id) => sims[id]);
  const running = (ids: string[]) =>
    on(ids).filter((sim) => sim.startedJobs().some((job) => job.endedAt === undefined));
  const fleetRun = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    request(gateway.url)
      .post('/backups/runs')
      .set({ authorization: auth, ...headers })
      .send(body);
  const read = async (location: string, authorization = auth) =>
    request(gateway.url).get(location).set('authorization', authorization);
  const members = async (location: string): Promise<Member[]> => (await read(location)).body.members;
  /** The audit trail's entries about cancelling fleet run `id`, oldest first. */
  const cancelEntries = async (id: string) => {
    const auditor = `Bearer ${await idp.token({ sub: 'audit-reader', scope: 'audit:read' })}`;
    const page = await request(gateway.url).get('/audit/events?limit=100').set('authorization', auditor);
    expect(page.status).toBe(200);
    return (page.body.items as Array<Record<string, unknown> & { actor: { subject: string } }>)
      .filter((entry) => entry.action === 'backup.fleet-run.cancel' && entry.fleetRequestId === id)
      .reverse();
  };

  beforeAll(async () => {
    idp = await new IdentityProvider().start();
    for (const id of [...ON_A, ...ON_B]) {
      sims[id] = new ApplianceSimulator({
        username: APPLIANCE_USER,
        password: APPLIANCE_PASSWORD,
        jobDurationMs: 10 * 60_000,
        // Different folders on one NAS are one target; a port in the location is part of it.
        schedules: scheduleAt(
          ON_A.includes(id) ? `sftp://nas-a.example.test/vcsa/${id}` : `sftp://NAS-B.example.test:2222/${id}`,
        ),
      });
      await sims[id].start();
    }
    gateway = await startGateway({
      auth: { jwt: idp.jwtConfig() },
      jobs: { pollIntervalMs: 100 },
      fleet: { perTargetConcurrency: PER_TARGET },
      appliances: Object.entries(sims).map(([id, sim]) => ({
        id,
        url: sim.url,
        username: APPLIANCE_USER,
        password: APPLIANCE_PASSWORD,
        tags: ['waves'],
        timeoutMs: 3000,
      })),
    });
    auth = `Bearer ${await idp.token({ sub: 'ops', scope: 'backups:run backups:read' })}`;
  }, 60_000);
  afterAll(async () => {
    await gateway.close();
    await Promise.all(Object.values(sims).map((sim) => sim.stop()));
    await idp.stop();
  });

  /** Ends every running job and waits until the gateway has seen them end (its targets are free again). */
  async function drain(location?: string): Promise<void> {
    for (const sim of Object.values(sims)) sim.finishRunningJobs();
    if (location) await waitFor(async () => (await read(location)).body.endedAt !== undefined, 20_000);
  }

  it('with Prefer: respond-async, queues the members and starts them as their target has room, never more', async () => {
    const answer = await fleetRun(
      { schedule: 'default', tags: ['waves'], comment: 'in waves' },
      { prefer: 'wait=10, respond-async' },
    );
    expect(answer.status).toBe(202);
    expect(answer.headers['preference-applied']).toBe('respond-async');
    expect(answer.headers.location).toBe(`/backups/runs/${answer.body.id}`);
    expect(answer.body).toMatchObject({
      id: expect.any(String),
      state: 'running',
      createdAt: expect.any(String),
      schedule: 'default',
      actor: { subject: expect.stringContaining('ops'), authMethod: 'jwt' },
    });
    expect(answer.body.members.map((m: Member) => [m.appliance, m.target])).toEqual([
      ...ON_A.map((id) => [id, NAS_A]),
      ...ON_B.map((id) => [id, NAS_B]),
    ]);
    const location = answer.headers.location;

    // The first wave: two on each target, the rest queued.
    await waitFor(() => running(ON_A).length === PER_TARGET && running(ON_B).length === PER_TARGET, 20_000);
    // The appliances have started them; the gateway records each job as its run answers.
    await waitFor(async () => (await members(location)).filter((m) => m.jobId !== undefined).length === 4, 20_000);
    const first = await members(location);
    expect(first.filter((m) => m.state === 'running').map((m) => m.appliance)).toEqual([
      'vc-1',
      'vc-2',
      'vc-6',
      'vc-7',
    ]);
    expect(first.filter((m) => m.state === 'queued').map((m) => m.appliance)).toEqual(['vc-3', 'vc-4', 'vc-5']);
    expect(first.find((m) => m.appliance === 'vc-1')?.jobId).toBe(sims['vc-1'].startedJobs()[0].id);
    // Every start is a run like any other: sent under the request's id per member, naming the fleet run.
    const run = sims['vc-1'].requests.find((r) => r.path.includes('action=run'));
    expect(run?.headers['x-request-id']).toBe(`${answer.body.requestId}.vc-1`);
    expect(run?.json).toEqual({ comment: 'in waves' });

    // A job ending makes room for the next member of its target, and only of its target.
    sims['vc-1'].finishRunningJobs();
    await waitFor(() => running(['vc-3']).length === 1, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few poll intervals: nothing else may start
    expect(running(ON_A).map((sim) => sim.url)).toEqual(on(['vc-2', 'vc-3']).map((sim) => sim.url));
    expect(running(['vc-4', 'vc-5'])).toHaveLength(0);

    // The queue drains as jobs end: every job that runs is ended until the run completes. (Stopping once nothing ran
    // raced the gateway: on a loaded machine the next queued member could start after the check, and ran on.)
    await waitFor(async () => {
      for (const sim of [...running(ON_A), ...running(ON_B)]) sim.finishRunningJobs('SUCCEEDED');
      return (await read(location)).body.state === 'completed';
    }, 20_000);
    const done = (await read(location)).body;
    expect(done.endedAt).toEqual(expect.any(String));
    expect(done.members.map((m: Member) => m.state)).toEqual(Array(7).fill('succeeded'));
    expect(Object.values(sims).every((sim) => sim.counters.jobsStarted === 1)).toBe(true);
    // The limit held the whole time, as the appliances saw it.
    expect(peakOverlap(on(ON_A))).toBe(PER_TARGET);
    expect(peakOverlap(on(ON_B))).toBe(PER_TARGET);
  }, 90_000);

  it('without the preference, a member whose target is full is a 409 TARGET_BUSY result and is sent nothing', async () => {
    for (const sim of Object.values(sims)) {
      sim.resetCounters();
      sim.clearRequests();
    }
    const answer = await fleetRun({ schedule: 'default', appliances: ON_A });
    expect(answer.status).toBe(207);
    const statuses = answer.body.results.map((r: { status: number }) => r.status);
    expect(statuses.filter((s: number) => s === 202)).toHaveLength(PER_TARGET);
    const busy = answer.body.results.filter((r: { status: number }) => r.status === 409);
    expect(busy).toHaveLength(ON_A.length - PER_TARGET);
    expect(busy[0].problem).toMatchObject({ code: 'TARGET_BUSY', target: NAS_A, status: 409 });
    expect(busy[0].problem.detail).toContain(NAS_A);
    expect(busy[0].problem.detail).toContain('Prefer: respond-async');
    for (const result of busy) expect(sims[result.appliance].counters.runs).toBe(0);
    expect(running(ON_A)).toHaveLength(PER_TARGET);

    // Backups the gateway started earlier count until they end: the same request now finds the target full.
    const again = await fleetRun({ schedule: 'default', appliances: ON_A });
    expect(again.body.results.map((r: { problem?: { code: string } }) => r.problem?.code)).toEqual(
      Array(ON_A.length).fill('TARGET_BUSY'),
    );
    // Refusals are audited like every refusal, with the code.
    const audit = await request(gateway.url)
      .get(`/audit/events?requestId=${again.body.requestId}.vc-1`)
      .set('authorization', `Bearer ${await idp.token({ scope: 'audit:read' })}`);
    expect(audit.body.items).toEqual([
      expect.objectContaining({
        outcome: 'rejected',
        code: 'TARGET_BUSY',
        httpStatus: 409,
        fleetRequestId: again.body.requestId,
      }),
    ]);

    // Once the gateway has seen them end, the target has room again.
    await drain();
    await waitFor(async () => {
      const retry = await fleetRun({ schedule: 'default', appliances: ['vc-3'] });
      return retry.body.results[0].status === 202;
    }, 20_000);
    await drain();
  }, 90_000);

  it('cancel: queued members are cancelled, running backups go on to their end; events follow it to its end', async () => {
    await waitFor(() => running(ON_A).length === 0, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the gateway sees the last job of the test before end
    const answer = await fleetRun({ schedule: 'default', appliances: ON_A }, { prefer: 'respond-async' });
    const location = answer.headers.location;
    await waitFor(() => running(ON_A).length === PER_TARGET, 20_000);

    const events: string[] = [];
    const stream = fetch(`${gateway.url}${location}/events`, { headers: { authorization: auth } }).then(
      async (response) => {
        expect(response.headers.get('content-type')).toContain('text/event-stream');
        const text = await response.text();
        for (const line of text.split('\n')) if (line.startsWith('event: ')) events.push(line.slice(7));
        return text;
      },
    );

    const startedBefore = ON_A.map((id) => sims[id].startedJobs().length);
    const cancelled = await request(gateway.url).post(`${location}/cancel`).set('authorization', auth);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    expect(cancelled.body.members.map((m: Member) => m.state)).toEqual([
      ...Array(PER_TARGET).fill('running'),
      ...Array(ON_A.length - PER_TARGET).fill('cancelled'),
    ]);
    await drain(location);
    const done = (await read(location)).body;
    expect(done.state).toBe('cancelled');
    expect(done.members.map((m: Member) => m.state)).toEqual([
      ...Array(PER_TARGET).fill('succeeded'),
      ...Array(ON_A.length - PER_TARGET).fill('cancelled'),
    ]);
    const text = await stream;
    expect(events[0]).toBe('progress');
    expect(events.at(-1)).toBe('end');
    expect(text).toContain('"state":"cancelled"');
    // Nothing was sent to the cancelled members.
    expect(ON_A.map((id) => sims[id].startedJobs().length)).toEqual(startedBefore);
    // Who cancelled is on record: committed before the cancel, completed with how it ended.
    const [requested, completed, ...more] = await cancelEntries(answer.body.id);
    expect(more).toEqual([]);
    const ops = { subject: expect.stringMatching(/:ops$/) }; // the CallerId: issuer and subject
    expect(requested).toMatchObject({ stage: 'requested', appliance: '*', schedule: 'default', actor: ops });
    expect(completed).toMatchObject({
      stage: 'completed',
      outcome: 'accepted',
      httpStatus: 200,
      requestedId: requested.id,
      requestId: requested.requestId,
      actor: ops,
    });
  }, 90_000);

  it("follows a running member's job no more often than the job has run, and still sees it end", async () => {
    await waitFor(() => running(['vc-6']).length === 0, 20_000);
    const answer = await fleetRun({ schedule: 'default', appliances: ['vc-6'] }, { prefer: 'respond-async' });
    const location = answer.headers.location;
    await waitFor(async () => (await members(location))[0].state === 'running', 20_000);
    sims['vc-6'].resetCounters();
    // 2.5 s at a 100 ms interval: 25 asks at one an interval. Asked after as long as it has run, the job is asked at
    // about 0.4, 0.8 and 1.6 s after it started.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const asked = sims['vc-6'].counters.jobGets;
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(asked).toBeLessThanOrEqual(8);
    sims['vc-6'].finishRunningJobs('SUCCEEDED');
    await waitFor(async () => (await read(location)).body.state === 'completed', 20_000);
    expect((await members(location))[0].state).toBe('succeeded');
  }, 90_000);

  it('is readable by who started it and by backups:read on all its appliances; to others it does not exist', async () => {
    const answer = await fleetRun({ schedule: 'default', appliances: ['vc-6'] }, { prefer: 'respond-async' });
    const location = answer.headers.location;
    const token = async (claims: Record<string, unknown>) => `Bearer ${await idp.token(claims)}`;
    // The same caller with only backups:run still reads its own run.
    expect((await read(location, await token({ sub: 'ops', scope: 'backups:run' }))).status).toBe(200);
    expect((await read(location, await token({ sub: 'auditor', scope: 'backups:read' }))).status).toBe(200);
    expect((await read(location, await token({ sub: 'auditor', scope: 'backups:read:vc-6' }))).status).toBe(200);
    const stranger = await read(location, await token({ sub: 'team-b', scope: 'backups:read:vc-1 backups:run:vc-1' }));
    expect(stranger.status).toBe(404);
    expect(stranger.body.code).toBe('FLEET_RUN_NOT_FOUND');
    expect((await read('/backups/runs/no-such-run')).body.code).toBe('FLEET_RUN_NOT_FOUND');
    const cancel = await request(gateway.url)
      .post(`${location}/cancel`)
      .set('authorization', await token({ sub: 'auditor', scope: 'backups:read' }));
    expect(cancel.body.code).toBe('FORBIDDEN');
    // The refusal is on record; the run was not cancelled.
    const entries = await cancelEntries(answer.body.id);
    expect(entries).toEqual([
      expect.objectContaining({ stage: 'completed', outcome: 'denied', httpStatus: 403, code: 'FORBIDDEN' }),
    ]);
    expect(entries[0].actor.subject).toMatch(/:auditor$/);
    expect((await read(location)).body.state).toBe('running');
    await drain(location);
  }, 90_000);

  it('an Idempotency-Key replays the 202 and its Location, and starts nothing again', async () => {
    const headers = { prefer: 'respond-async', 'idempotency-key': 'waves-1' };
    const first = await fleetRun({ schedule: 'default', appliances: ['vc-7'] }, headers);
    expect(first.status).toBe(202);
    await waitFor(() => running(['vc-7']).length === 1, 20_000);
    const retry = await fleetRun({ schedule: 'default', appliances: ['vc-7'] }, headers);
    expect(retry.status).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.headers['preference-applied']).toBe('respond-async');
    expect(retry.body.id).toBe(first.body.id);
    // The same key without the preference is another request.
    const synchronous = await fleetRun({ schedule: 'default', appliances: ['vc-7'] }, { 'idempotency-key': 'waves-1' });
    expect(synchronous.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(sims['vc-7'].startedJobs().filter((job) => job.endedAt === undefined)).toHaveLength(1);
    await drain(first.headers.location);
  }, 90_000);
});
