import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { PostgresAuditStore } from '../../../src/audit/store/postgres-audit-store.js';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { auditClient, byRequestId } from '../../support/audit-client.js';
import { assertBuildIsFresh } from '../../support/built.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { type GatewayProcess, spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { APPLIANCE_ENV, burst, processDocument, stopGateway } from '../../support/gateway-processes.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { describePostgres, dropSchema, freshSchema } from '../../support/postgres.js';

const RUNS_PER_GATEWAY = 25;

describePostgres('two gateway processes sharing one PostgreSQL audit store', (url) => {
  const schemas: string[] = [];
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;
  let configPath: string;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    assertBuildIsFresh('dist/main.js', 'dist/audit/store/verify-cli.js');
    idp = await new IdentityProvider().start();
    // Jobs end at once, so every run is accepted however many arrive together.
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD, jobDurationMs: 0 });
    await sim.start();
    schemas.push(freshSchema('audit_gateways'));
    configPath = writeConfig(
      processDocument(idp, { 'vc-a': sim }, { store: 'postgres', postgres: { url, schema: schemas[0] } }),
    );
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => stopGateway(gateway)));
    await sim.stop();
    await idp.stop();
    for (const schema of schemas) await dropSchema(url, schema);
    rmSync(dirname(configPath), { recursive: true, force: true });
  });

  it('replicas starting together on a new schema all open it (CREATE SCHEMA races itself)', async () => {
    const schema = freshSchema('audit_race');
    schemas.push(schema);
    const stores = Array.from({ length: 6 }, () => new PostgresAuditStore(url, { schema }));
    try {
      const opened = await Promise.allSettled(stores.map((store) => store.open()));
      expect(opened.map((result) => (result.status === 'rejected' ? String(result.reason) : 'open'))).toEqual(
        stores.map(() => 'open'),
      );
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('bursts of runs through both keep one valid chain with both entries of every run', async () => {
    gateways.push(...(await Promise.all([0, 1].map(() => spawnGateway(configPath, APPLIANCE_ENV)))));
    for (const gateway of gateways) expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(200);
    const authorization = `Bearer ${await idp.token({ scope: 'backups:run audit:read' })}`;

    // A little latency keeps every run in flight while the other gateway writes.
    sim.faults.set({ kind: 'latency', ms: 20, path: 'action=run' });
    const results = (
      await Promise.all(
        gateways.map(
          (gateway, i) =>
            burst(gateway.url, { count: RUNS_PER_GATEWAY, prefix: `gw${i + 1}`, appliance: 'vc-a', authorization })
              .results,
        ),
      )
    ).flat();
    sim.faults.clear();
    expect(results.map((r) => r.status)).toEqual(results.map(() => 202));

    const runs = 2 * RUNS_PER_GATEWAY;
    const [viaFirst, viaSecond] = gateways.map((gateway) => auditClient(gateway.url, authorization));
    expect(await viaFirst.verify()).toEqual({ ok: true, count: 2 * runs });
    expect(await viaSecond.verify()).toEqual({ ok: true, count: 2 * runs });

    // In chain order (the export lists by time; each gateway stamps its entries before they queue for the lock).
    const events = (await viaSecond.export()).events.sort((a, b) => b.seq - a.seq);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 2 * runs }, (_, i) => 2 * runs - i));
    const byRequest = byRequestId(events);
    for (const { requestId, body } of results) {
      const { requested, completed } = byRequest.get(requestId) ?? { requested: [], completed: [] };
      expect(requested).toEqual([expect.objectContaining({ finalOutcome: 'accepted' })]);
      expect(completed).toEqual([
        expect.objectContaining({ outcome: 'accepted', jobId: body?.job?.id, requestedId: requested[0].id }),
      ]);
    }
    // The two gateways really wrote at the same time: their entries interleave in the chain.
    const writers = [...events].reverse().map((e) => e.requestId.split('-')[0]);
    expect(writers.filter((writer, i) => i > 0 && writer !== writers[i - 1]).length).toBeGreaterThan(2);

    // `npm run audit:verify` reads the same schema from the same config.
    const cli = spawnSync(process.execPath, ['dist/audit/store/verify-cli.js'], {
      env: { PATH: process.env.PATH, GATEWAY_CONFIG: configPath, ...APPLIANCE_ENV },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect({ status: cli.status, stderr: cli.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(cli.stdout)).toEqual({ ok: true, count: 2 * runs });
  });
});
