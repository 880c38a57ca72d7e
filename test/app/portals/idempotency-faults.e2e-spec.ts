import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';
import { tempDir } from '../../support/temp-dir.js';
import { waitFor } from '../../support/wait-for.js';

const RUN = '/appliances/vc-a/backups/schedules/default/run';

/**
 * A portal that follows the Idempotency-Key protocol exactly is never told less than the appliance said, never kept
 * out for a day, and never starts a second backup by retrying.
 */
describe('Idempotency-Key under faults', () => {
  let world: World;
  let auth: string;
  beforeAll(async () => {
    const dir = tempDir('idem-faults-');
    world = await startWorld({
      applianceIds: ['vc-a', 'vc-b', 'vc-c'],
      extra: {
        audit: { sqlite: { path: join(dir, 'audit.db') } },
        fleet: { maxAppliances: 2, backgroundProbes: false },
      },
    });
    auth = `Bearer ${await world.idp.token({ ...RUN_AND_READ, sub: 'portal' })}`;
  });
  afterAll(async () => {
    const dir = dirname(world.gateway.config.audit.sqlite.path);
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const sim of Object.values(world.appliances)) {
      sim.faults.clear();
      sim.finishRunningJobs();
      sim.resetCounters();
    }
  });

  const run = (key: string, path = RUN) =>
    request(world.gateway.url).post(path).set('authorization', auth).set('idempotency-key', key).send({});

  /**
   * Sends a run whose appliances answer late (their faults set by the caller), breaks the store once `reached` says
   * the run reached them (the chain head renamed away: the entry settling the key goes to the spool), and hands the
   * answer to `meanwhile` before the store is mended. Resolves with that answer.
   */
  async function whileStoreBroken(
    send: () => request.Test,
    reached: () => boolean,
    meanwhile: (first: request.Response) => Promise<void>,
  ): Promise<request.Response> {
    const db = new Database(world.gateway.config.audit.sqlite.path);
    const answer = send().then((response) => response); // supertest sends on then()
    await waitFor(reached, 5000);
    db.exec('ALTER TABLE audit_chain_head RENAME TO audit_chain_head_moved');
    try {
      const first = await answer;
      await meanwhile(first);
      return first;
    } finally {
      db.exec('ALTER TABLE audit_chain_head_moved RENAME TO audit_chain_head');
      db.close();
    }
  }

  /** Sends `send()` again until it is answered `status` (the spool wrote the answer); resolves with that answer. */
  async function resentUntil(send: () => request.Test, status: number, timeoutMs: number): Promise<request.Response> {
    let last: request.Response | undefined;
    await waitFor(async () => {
      last = await send();
      return last.status === status;
    }, timeoutMs);
    return last as request.Response;
  }

  it('a 5xx is not final: after one 502 the retry runs (and its 202 is what is kept)', async () => {
    world.appliances['vc-a'].faults.set({ kind: 'status', status: 500, path: /action=run/, times: 1 });
    expect((await run('after-502')).status).toBe(502);
    const retry = await run('after-502');
    expect(retry.status).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect((await run('after-502')).headers['idempotent-replayed']).toBe('true');
  });

  it('the query is part of the request: the same key with ?appliance=vc-b after ?appliance=vc-a is 422', async () => {
    const short = (appliance: string) => run('short-form', `/backups/schedules/default/run?appliance=${appliance}`);
    expect((await short('vc-a')).status).toBe(202);
    const other = await short('vc-b');
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(world.appliances['vc-b'].counters.runs).toBe(0);
  });

  it('a partly failed fleet run: the retry replays the members that were final and runs only the others', async () => {
    world.appliances['vc-b'].faults.set({ kind: 'status', status: 500, path: /action=run/, times: 1 });
    const fleet = () =>
      request(world.gateway.url)
        .post('/backups/runs')
        .set('authorization', auth)
        .set('idempotency-key', 'fleet-partial')
        .send({ schedule: 'default', appliances: ['vc-a', 'vc-b'] });
    const first = await fleet();
    expect(first.status).toBe(207);
    const statuses = (body: { results: { appliance: string; status: number }[] }) =>
      Object.fromEntries(body.results.map((r) => [r.appliance, r.status]));
    expect(statuses(first.body)).toEqual({ 'vc-a': 202, 'vc-b': 502 });
    const retry = await fleet();
    expect(statuses(retry.body)).toEqual({ 'vc-a': 202, 'vc-b': 202 });
    // vc-a's job is the one it started the first time; it was never asked again.
    expect(retry.body.results[0].job.id).toBe(first.body.results[0].job.id);
    expect(world.appliances['vc-a'].counters.runs).toBe(1);
    expect(world.appliances['vc-b'].counters.jobsStarted).toBe(1);
    // Final now: replayed whole.
    const third = await fleet();
    expect(third.headers['idempotent-replayed']).toBe('true');
    expect(third.body.results).toEqual(retry.body.results);
  });

  it('a fleet request may select at most fleet.maxAppliances appliances', async () => {
    const response = await request(world.gateway.url)
      .post('/backups/runs')
      .set('authorization', auth)
      .send({ schedule: 'default', appliances: ['vc-a', 'vc-b', 'vc-c'] });
    expect(response.status).toBe(400);
    expect(response.body.detail).toMatch(/fleet\.maxAppliances/);
    expect(Object.values(world.appliances).map((sim) => sim.counters.runs)).toEqual([0, 0, 0]);
  });

  it('unknown query parameters on the run route are refused (400), as everywhere', async () => {
    const response = await request(world.gateway.url).post(`${RUN}?foo=x`).set('authorization', auth).send({});
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(world.appliances['vc-a'].counters.runs).toBe(0);
  });
  // Last: the spool it leaves behind drains on its own schedule, and later completions queue behind it.
  it('the store failing after the appliance accepted: the caller gets 202 with the job, and a retry is replayed it once the store is back', async () => {
    const sim = world.appliances['vc-a'];
    // The appliance takes its time; meanwhile someone breaks the store: the completion cannot be written.
    sim.faults.set({ kind: 'latency', ms: 400, path: /action=run/, phase: 'after', times: 1 });
    const first = await whileStoreBroken(
      () => run('store-breaks'),
      () => sim.counters.runs === 1,
      async (answer) => {
        expect(answer.status).toBe(202);
        expect(answer.body.job.id).toEqual(expect.any(String));
        // Not settled yet (it waits in the spool): a retry is told to wait, never given a 500 or a second backup.
        const early = await run('store-breaks');
        expect(early.status).toBe(409);
        expect(early.body.code).toBe('IDEMPOTENCY_REQUEST_IN_PROGRESS');
      },
    );
    // The spool writes the completion, and the key's answer with it.
    const retry = await resentUntil(() => run('store-breaks'), 202, 20_000);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.job.id).toBe(first.body.job.id);
    expect(sim.counters.jobsStarted).toBe(1);
  }, 40_000);

  it('an answer still in the spool after its claim lapsed: a retry is told to wait, and is never sent again', async () => {
    const sim = world.appliances['vc-a'];
    sim.faults.set({ kind: 'latency', ms: 400, path: /action=run/, phase: 'after', times: 1 });
    const first = await whileStoreBroken(
      () => run('spooled-past-lease'),
      () => sim.counters.runs === 1,
      async (answer) => {
        expect(answer.status).toBe(202);
        // The claim's lease (a login and a run under vc-a's 2 s timeout, plus 10 s) runs out while the store still
        // cannot take the entry that settles the key.
        await new Promise((resolve) => setTimeout(resolve, 14_500));
      },
    );
    // The store is back, the spool has not written the answer yet (it tries again on its own timer): a retry now
    // would find the key's claim lapsed in the store. It is told to wait (or, had the spool been quicker, replayed);
    // it is never sent to vc-a.
    const late = await run('spooled-past-lease');
    expect([late.status, late.body.code ?? late.headers['idempotent-replayed']]).toEqual(
      late.status === 409 ? [409, 'IDEMPOTENCY_REQUEST_IN_PROGRESS'] : [202, 'true'],
    );
    expect(sim.counters.runs).toBe(1);
    const retry = await resentUntil(() => run('spooled-past-lease'), 202, 40_000);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.job.id).toBe(first.body.job.id);
    expect(sim.counters.runs).toBe(1);
  }, 70_000);

  it("a fleet member's answer waiting in the spool is not lost when another member's is not final: vc-a is never sent twice", async () => {
    const [vcA, vcB] = [world.appliances['vc-a'], world.appliances['vc-b']];
    const fleet = () =>
      request(world.gateway.url)
        .post('/backups/runs')
        .set('authorization', auth)
        .set('idempotency-key', 'fleet-spooled')
        .send({ schedule: 'default', appliances: ['vc-a', 'vc-b'] });
    // vc-b fails at once (a 502: not final, so the first request gives the key back); vc-a accepts, slowly, and by
    // then the store is broken: vc-a's completion, which settles its member of the key, goes to the spool.
    vcB.faults.set({ kind: 'status', status: 500, path: /action=run/, times: 1 });
    vcA.faults.set({ kind: 'latency', ms: 400, path: /action=run/, phase: 'after', times: 1 });
    await whileStoreBroken(
      fleet,
      () => vcA.counters.runs === 1 && vcB.counters.runs === 1,
      async (answer) => {
        expect(answer.status).toBe(207);
        // Its answer is not in the store yet: a retry waits, and sends nothing.
        const early = await fleet();
        expect(early.status).toBe(409);
        expect(early.body.code).toBe('IDEMPOTENCY_REQUEST_IN_PROGRESS');
      },
    );
    // Once the spool has written vc-a's answer and the first claim's lease has run out, a retry replays vc-a and
    // runs only vc-b.
    const retry = await resentUntil(fleet, 207, 40_000);
    const statuses = Object.fromEntries(
      (retry.body.results as { appliance: string; status: number }[]).map((r) => [r.appliance, r.status]),
    );
    expect(statuses).toEqual({ 'vc-a': 202, 'vc-b': 202 });
    expect(vcA.counters.runs).toBe(1);
    expect(vcB.counters.runs).toBe(2);
  }, 60_000);
});

describe('fleet members and the run budget', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ extra: { rateLimit: { runsPerMinute: 3, readsPerMinute: 100 } } });
  });
  afterAll(() => world.stop());

  it('each member counts toward rateLimit.runsPerMinute: two fleets of two are four runs, past a limit of three', async () => {
    const token = `Bearer ${await world.idp.token({ ...RUN_AND_READ, sub: 'fleet-user' })}`;
    const fleet = () =>
      request(world.gateway.url)
        .post('/backups/runs')
        .set('authorization', token)
        .send({ schedule: 'default', appliances: ['vc-a', 'vc-b'] });
    expect((await fleet()).status).toBe(207);
    for (const sim of Object.values(world.appliances)) sim.finishRunningJobs();
    const second = await fleet();
    expect(second.status).toBe(429);
    expect(second.body.code).toBe('RATE_LIMITED');
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
    expect(world.appliances['vc-a'].counters.runs).toBe(1);
  });
});
