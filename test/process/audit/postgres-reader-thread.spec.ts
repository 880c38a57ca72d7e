import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createAuditStore } from '../../../src/audit/store/audit-store-factory.js';
import { PostgresAuditStore } from '../../../src/audit/store/postgres-audit-store.js';
import { AuditConfig, AuditPostgresConfig } from '../../../src/config/gateway-config.js';
import { assertBuildIsFresh } from '../../support/built.js';
import { draft } from '../../support/drafts.js';
import { describePostgres, dropSchema, freshSchema } from '../../support/postgres.js';

/**
 * The gateway's PostgreSQL store verifies and exports on a thread of its own (the worker is the built one, as the
 * gateway runs it), with connections of its own: what the event loop's thread then never receives is the gigabytes of
 * socket buffers a walk over a long trail reads (bench/README.md, "PostgreSQL's reader thread").
 */
describePostgres('PostgreSQL audit store: verification and the export on the reader thread', (url) => {
  let schema: string;
  let store: PostgresAuditStore;
  let applicationName: string;
  let admin: pg.Client;

  /** The connections of this store's pools, by application_name, with the last statement each ran. */
  const connections = async () => {
    const { rows } = await admin.query<{ application_name: string; query: string }>(
      `SELECT application_name, query FROM pg_stat_activity WHERE application_name LIKE $1 || '%'`,
      [applicationName],
    );
    return rows;
  };
  const readers = async () =>
    (await connections()).filter((row) => row.application_name === `${applicationName}-reader`);

  beforeAll(() => assertBuildIsFresh('dist/audit/store/audit-store-worker.js'));
  beforeEach(async () => {
    schema = freshSchema('audit_reader');
    applicationName = `audit-test-${randomBytes(4).toString('hex')}`;
    store = new PostgresAuditStore(url, { schema, applicationName, readerThread: true });
    await store.open();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  afterEach(async () => {
    await store.close();
    await admin.end();
    await dropSchema(url, schema);
  });

  it('exports on the reader thread the lines query() reads, in pages of 500', async () => {
    for (let i = 0; i < 3; i++) await store.append(draft({ comment: `entry ${i} ✓` }));
    expect(await readers()).toEqual([]);
    const page = await store.queryNdjson({}, { limit: store.exportPageSize });
    const events = await store.query({}, { limit: 10 });
    expect(page).toEqual({
      ndjson: events.map((event) => `${JSON.stringify(event)}\n`).join(''),
      count: 3,
      last: { seq: 1, time: events[2].time },
    });
    expect(store.exportPageSize).toBe(500);
    expect((await readers()).map((row) => row.query)).toEqual([expect.stringContaining('outcome_so_far')]);
  });

  it('verifies on the reader threads, half the chain each, which see what is committed: an edited entry is reported', async () => {
    const entries = [];
    for (let i = 0; i < 4; i++) entries.push(await store.append(draft()));
    expect(await store.verify()).toEqual({ ok: true, count: 4 });
    expect((await readers()).length).toBeGreaterThan(0);
    // Two threads, half the chain each: the reader's connection and the verifier's.
    expect((await connections()).filter((row) => row.query.includes('"seq" >'))).toEqual([
      expect.objectContaining({ application_name: `${applicationName}-reader` }),
      expect.objectContaining({ application_name: `${applicationName}-reader` }),
    ]);
    await admin.query(`UPDATE ${schema}.audit_entries SET comment = 'edited' WHERE id = $1`, [entries[2].id]);
    expect(await store.verify()).toEqual({ ok: false, count: 2, firstBad: { id: entries[2].id, reason: 'hash' } });
  });

  it("closes the reader thread's connections with the store", async () => {
    await store.append(draft());
    await store.verify();
    expect((await readers()).length).toBeGreaterThan(0);
    await store.close();
    // The server drops a closed connection's row a moment after the client goes.
    for (let i = 0; i < 50 && (await readers()).length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await readers()).toEqual([]);
    await store.open();
  });
});

describe('the configured PostgreSQL store', () => {
  const config = Object.assign(new AuditConfig(), {
    store: 'postgres' as const,
    postgres: Object.assign(new AuditPostgresConfig(), { url: 'postgres://nowhere.invalid/audit' }),
  });

  it("has its reader thread in the gateway (pages of 500), not in the verify CLI's process (pages of 100)", async () => {
    expect((await createAuditStore(config)).exportPageSize).toBe(500);
    expect((await createAuditStore(config, { sameThread: true, migrate: false })).exportPageSize).toBe(100);
  });
});
