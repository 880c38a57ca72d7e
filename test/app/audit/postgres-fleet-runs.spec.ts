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
});
