/**
 * What the PostgreSQL store's introspector tells kysely's migrator, on a real PostgreSQL: the tables and views of the
 * current schema only (a neighbour schema's tables are not ours), the schemas that exist, and that the dialect the
 * store uses is the one that asks it.
 */
import { Kysely } from 'kysely';
import pg from 'pg';
import { AuditPostgresDialect, CurrentSchemaIntrospector } from '../../../src/audit/store/postgres-introspector.js';
import { describePostgres, dropSchema, freshSchema } from '../../support/postgres.js';

describePostgres('PostgreSQL introspector (current schema only)', (url) => {
  const ours = freshSchema('introspect_ours');
  const neighbour = freshSchema('introspect_neighbour');
  // biome-ignore lint/suspicious/noExplicitAny: tables of no declared database
  let db: Kysely<any>;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA ${ours}; CREATE SCHEMA ${neighbour};
        CREATE TABLE ${ours}.entries (id int);
        CREATE VIEW ${ours}.recent AS SELECT id FROM ${ours}.entries;
        CREATE TABLE ${ours}.parted (id int) PARTITION BY RANGE (id);
        CREATE SEQUENCE ${ours}.counter;
        CREATE TABLE ${neighbour}.theirs (id int);`);
    } finally {
      await admin.end();
    }
    db = new Kysely({
      dialect: new AuditPostgresDialect({
        pool: new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${ours}` }),
      }),
    });
  });
  afterAll(async () => {
    await db.destroy();
    await dropSchema(url, ours);
    await dropSchema(url, neighbour);
  });

  const byName = <T extends { name: string }>(rows: T[]) => [...rows].sort((a, b) => a.name.localeCompare(b.name));

  it("lists the current schema's tables, views and partitioned tables, without columns, and nothing else", async () => {
    const tables = await db.introspection.getTables();
    expect(byName(tables)).toEqual([
      { name: 'entries', schema: ours, isView: false, columns: [] },
      { name: 'parted', schema: ours, isView: false, columns: [] },
      { name: 'recent', schema: ours, isView: true, columns: [] },
    ]);
  });

  it('metadata is those tables', async () => {
    const introspector = new CurrentSchemaIntrospector(db);
    expect(byName((await introspector.getMetadata()).tables)).toEqual(byName(await introspector.getTables()));
    expect((await introspector.getMetadata()).tables).toHaveLength(3);
  });

  it('lists the schemas of the database, ours and the neighbour included', async () => {
    const names = (await db.introspection.getSchemas()).map((schema) => schema.name);
    expect(names).toEqual(expect.arrayContaining([ours, neighbour, 'public', 'pg_catalog']));
  });
});
