import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { auditClient } from '../../support/audit-client.js';
import { startWorld, type World } from '../../support/fixture.js';
import { freePort } from '../../support/gateway-process.js';
import { tempDir } from '../../support/temp-dir.js';

/**
 * Fail closed: a run whose `requested` entry cannot be written is refused with 503 AUDIT_UNAVAILABLE and nothing
 * reaches the appliance, not even a login.
 */
function expectAuditUnavailable(response: request.Response) {
  expect({ status: response.status, code: response.body.code }).toEqual({ status: 503, code: 'AUDIT_UNAVAILABLE' });
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['retry-after']).toEqual(expect.any(String));
  expect(response.body).toMatchObject({ status: 503, requestId: response.headers['x-request-id'] });
}

describe.each([
  {
    store: 'SQLite, a path whose parent is a file',
    audit: async (dir: string) => {
      writeFileSync(join(dir, 'not-a-directory'), '');
      return { store: 'sqlite', sqlite: { path: join(dir, 'not-a-directory', 'audit.db') } };
    },
  },
  {
    store: 'PostgreSQL, nothing listening at the URL',
    audit: async () => ({
      store: 'postgres',
      postgres: { url: `postgres://gateway:unused@127.0.0.1:${await freePort()}/gateway` },
    }),
  },
])('fail closed: an audit store that cannot be opened ($store)', ({ audit }) => {
  let dir: string;
  let world: World;
  let auth: { authorization: string };

  beforeAll(async () => {
    dir = tempDir('gw-audit-closed-');
    world = await startWorld({ extra: { audit: await audit(dir) } });
    auth = { authorization: `Bearer ${await world.idp.token({ scope: 'backups:run audit:read' })}` };
  });
  afterAll(async () => {
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses runs with 503 AUDIT_UNAVAILABLE and sends the appliance nothing, not even a login', async () => {
    const single = await request(world.gateway.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set(auth)
      .send({ comment: 'must not happen' });
    expectAuditUnavailable(single);

    const fleet = await request(world.gateway.url)
      .post('/backups/runs')
      .set(auth)
      .send({ schedule: 'default', appliances: ['vc-a', 'vc-b'] })
      .expect(207);
    const results = fleet.body.results as { appliance: string; status: number; problem?: { code: string } }[];
    expect(results.map((r) => [r.appliance, r.status, r.problem?.code])).toEqual([
      ['vc-a', 503, 'AUDIT_UNAVAILABLE'],
      ['vc-b', 503, 'AUDIT_UNAVAILABLE'],
    ]);

    for (const sim of Object.values(world.appliances)) {
      expect(sim.counters).toMatchObject({ runs: 0, loginAttempts: 0, logins: 0, requests: 0 });
    }
  });

  it('is not ready (503 on /health/ready), and the trail cannot be read either', async () => {
    const ready = await request(world.gateway.url).get('/health/ready').expect(503);
    expect(ready.body.code).toBe('SERVICE_UNAVAILABLE');
    await request(world.gateway.url).get('/health/live').expect(200);
    const events = await request(world.gateway.url).get('/audit/events').set(auth);
    expectAuditUnavailable(events);
  });
});

describe('fail closed: a store that starts failing while the gateway runs', () => {
  let world: World;
  let auth: { authorization: string };

  beforeAll(async () => {
    world = await startWorld();
    auth = { authorization: `Bearer ${await world.idp.token({ scope: 'backups:run audit:read' })}` };
  });
  afterAll(async () => {
    await world.stop();
    rmSync(dirname(world.gateway.config.audit.sqlite.path), { recursive: true, force: true });
  });

  it('refuses the run while appends fail, and runs again (with both entries) once they succeed', async () => {
    const run = () => request(world.gateway.url).post('/appliances/vc-a/backups/schedules/default/run').set(auth);
    const sim = world.appliances['vc-a'];
    await run().expect(202);
    sim.finishRunningJobs();
    sim.resetCounters();

    // Someone with database access breaks it: every append fails, reads of the entries still work.
    const db = new Database(world.gateway.config.audit.sqlite.path);
    try {
      db.exec('ALTER TABLE audit_chain_head RENAME TO audit_chain_head_moved');
      expectAuditUnavailable(await run());
      expect(sim.counters).toMatchObject({ runs: 0, requests: 0 });
    } finally {
      db.exec('ALTER TABLE audit_chain_head_moved RENAME TO audit_chain_head');
      db.close();
    }

    const after = await run().set('x-request-id', 'after-repair').expect(202);
    expect(sim.counters.runs).toBe(1);
    const audit = auditClient(world.gateway.url, auth.authorization);
    const entries = await audit.forRequest('after-repair');
    expect(entries.all.map((e) => [e.stage, e.finalOutcome, e.jobId])).toEqual([
      ['completed', 'accepted', after.body.job.id],
      ['requested', 'accepted', null],
    ]);
    // Nothing of the refused run was written: two runs, four entries, one valid chain.
    expect(await audit.verify()).toEqual({ ok: true, count: 4 });
  });
});
