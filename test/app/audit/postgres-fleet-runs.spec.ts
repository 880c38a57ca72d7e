import { randomUUID } from 'node:crypto';
import { PostgresAuditStore } from '../../../src/audit/store/postgres-audit-store.js';
import { describeFleetRunStore } from '../../support/fleet-run-store-suite.js';
import { describePostgres, dropSchema, freshSchema } from '../../support/postgres.js';

describePostgres('fleet runs in PostgreSQL', (url) => {
  describeFleetRunStore('the fleet-run rules', async () => {
    const schema = freshSchema('fleet_runs');
    const store = new PostgresAuditStore(url, { schema });
    await store.open();
    return {
      store: store.fleetRuns,
      outbox: async () => (await store.listNotifications({}, { limit: 100 })).map((message) => message.id),
      async dispose() {
        await store.close();
        await dropSchema(url, schema);
      },
    };
  });

  /**
   * Replicas enter members at the same moment, each transaction counting a target's slots and then taking one. Under
   * READ COMMITTED two of them would both count the same free slot: the target's advisory lock makes them take turns.
   */
  it("members entering at once on many connections never take more than a target's slots", async () => {
    const schema = freshSchema('fleet_runs_race');
    const stores = [0, 1, 2].map(() => new PostgresAuditStore(url, { schema, poolSize: 8 }));
    try {
      for (const store of stores) await store.open();
      const target = 'sftp://nas.example.test:22';
      const entrants = Array.from({ length: 24 }, (_, i) => ({ appliance: `vc-${i}`, store: stores[i % 3] }));
      const runs = await Promise.all(
        entrants.map(({ store }) =>
          store.fleetRuns.createFleetRun(
            {
              id: randomUUID(),
              mode: 'sync',
              caller: 'jwt:ops',
              actor: { subject: 'ops', authMethod: 'jwt', ip: '127.0.0.1' },
              requestId: `req-${randomUUID()}`,
              schedule: 'default',
              members: [],
            },
            'me',
            60_000,
          ),
        ),
      );
      const entered = await Promise.all(
        entrants.map(({ appliance, store }, i) =>
          store.fleetRuns.enterFleetMember(runs[i].id, { appliance, target }, 2),
        ),
      );
      expect(entered.filter(Boolean)).toHaveLength(2);
    } finally {
      for (const store of stores) await store.close();
      await dropSchema(url, schema);
    }
  });
});
