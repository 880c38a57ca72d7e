import { sql as sqlTag } from 'kysely';
import pg from 'pg';
import { PostgresAuditStore } from '../../../src/audit/store/postgres-audit-store.js';
import { draft } from '../../support/drafts.js';
import { describePostgres, dropSchema, freshSchema } from '../../support/postgres.js';

describe('PostgreSQL audit store: schema names', () => {
  it.each([
    'Audit', // upper case: PostgreSQL would fold it, so the name would not be the one configured
    '1audit',
    'audit-log',
    'audit;drop table x',
    'a'.repeat(64),
    '',
    ' audit',
    'audit ',
  ])('refuses %j before connecting (it goes into SQL and connection options)', (schema) => {
    expect(() => new PostgresAuditStore('postgres://nowhere.invalid/x', { schema })).toThrow(
      `invalid schema name ${JSON.stringify(schema)}`,
    );
  });

  it.each(['audit', '_audit', 'audit_2026', `a${'b'.repeat(62)}`])('accepts %j', (schema) => {
    expect(() => new PostgresAuditStore('postgres://nowhere.invalid/x', { schema })).not.toThrow();
  });
});

describePostgres('PostgreSQL audit store: connection and schema', (url) => {
  const schemas: string[] = [];
  const stores: PostgresAuditStore[] = [];
  const store = (storeUrl: string, options: ConstructorParameters<typeof PostgresAuditStore>[1] = {}) => {
    const created = new PostgresAuditStore(storeUrl, options);
    stores.push(created);
    return created;
  };
  const schema = (prefix: string) => {
    const name = freshSchema(prefix);
    schemas.push(name);
    return name;
  };
  const withSearchPath = (name: string) =>
    `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${name}`)}`;

  async function sql<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  }
  const tablesIn = async (name: string) =>
    (
      await sql<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [name],
      )
    ).map((r) => r.table_name);

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    for (const name of schemas.splice(0)) await dropSchema(url, name);
  });

  it('without a schema option the tables go to the connection’s current schema (search_path in the URL)', async () => {
    const name = schema('audit_default');
    await sql(`CREATE SCHEMA ${name}`);
    const s = store(withSearchPath(name));
    await s.open();
    await s.append(draft());
    expect(await tablesIn(name)).toEqual(
      expect.arrayContaining(['audit_chain_head', 'audit_entries', 'audit_migration', 'idempotency_keys']),
    );
    expect(await s.verify()).toEqual({ ok: true, count: 1 });
  });

  it('a search_path naming no existing schema is refused with the fix', async () => {
    const name = schema('audit_missing');
    await expect(store(withSearchPath(name)).open()).rejects.toThrow(
      'no schema of the search_path exists; create one or set search_path',
    );
  });

  it('migrate: false uses the schema as it is: it creates nothing', async () => {
    const name = schema('audit_as_is');
    const s = store(url, { schema: name, migrate: false });
    await s.open();
    expect(await sql('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name])).toEqual([]);
    await expect(s.head()).rejects.toThrow(/does not exist/);
  });

  it('a schema PostgreSQL will not create is refused with its own reason, not taken for the losing side of a race', async () => {
    // The name passes our rule, but PostgreSQL reserves the pg_ prefix: CREATE SCHEMA fails and no schema exists.
    const name = schema('pg_audit');
    // PostgreSQL's own error, with its SQLSTATE (42939, reserved name), straight from CREATE SCHEMA.
    await expect(store(url, { schema: name }).open()).rejects.toMatchObject({
      code: '42939',
      message: expect.stringMatching(/^unacceptable schema name/),
    });
  });

  it('replicas starting together on a new schema all open it (the losers of CREATE SCHEMA’s race included)', async () => {
    const name = schema('audit_race');
    const replicas = Array.from({ length: 12 }, () => store(url, { schema: name, poolSize: 1 }));
    await Promise.all(replicas.map((r) => r.open()));
    await Promise.all(replicas.map((r) => r.append(draft())));
    expect(await replicas[0].verify()).toEqual({ ok: true, count: 12 });
  });

  it('opens while other applications create and drop schemas in the same database', async () => {
    // Another tenant of the database (or another test worker) churning schemas full of tables: what the store looks
    // at while it migrates must not be theirs, or a schema dropped mid-look fails our start-up.
    const churners = await Promise.all(
      [1, 2, 3].map(async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        return client;
      }),
    );
    let churning = true;
    const churn = churners.map(async (client) => {
      while (churning) {
        const name = freshSchema('churn');
        const tables = Array.from({ length: 20 }, (_, i) => `CREATE TABLE ${name}.t${i} (id serial, a text, b int);`);
        await client.query(`CREATE SCHEMA ${name}; ${tables.join(' ')}`);
        await client.query(`DROP SCHEMA ${name} CASCADE`);
      }
    });
    try {
      for (let i = 0; i < 20; i++) {
        const s = store(url, { schema: schema('audit_churn'), poolSize: 1 });
        await s.open();
        await s.close();
      }
    } finally {
      churning = false;
      await Promise.all(churn);
      await Promise.all(churners.map((client) => client.end()));
    }
  }, 60_000);

  it('a migration may outlast the statement timeout (10 s) of every other statement: an index over a long trail', async () => {
    // 0007 builds three indexes over audit_entries: at 10M entries a minute, which the pool's statement timeout cut
    // off at 10 s, failing every start after the upgrade. Here the table is locked for 11 s while 0007 is pending,
    // so that its first CREATE INDEX waits that long.
    const name = schema('audit_slow_migration');
    const first = store(url, { schema: name });
    await first.open();
    await first.close();
    // The schema as before 0007 (and so before 0008, which the migrator applies after it again).
    await sql(`DELETE FROM ${name}.audit_migration WHERE name IN ('0007-audit-time-order', '0008-final-outcome')`);
    for (const index of [
      'audit_entries_appliance_time',
      'audit_entries_actor_time',
      'audit_entries_time_seq',
      'audit_entries_actor_outcome_time',
      'audit_entries_appliance_outcome_time',
    ]) {
      await sql(`DROP INDEX ${name}.${index}`);
    }
    await sql(`ALTER TABLE ${name}.audit_entries DROP COLUMN final_outcome`);
    await sql(`CREATE INDEX audit_entries_appliance_seq ON ${name}.audit_entries (appliance, seq)`);
    await sql(`CREATE INDEX audit_entries_actor_seq ON ${name}.audit_entries (actor_subject, seq)`);
    await sql(`CREATE INDEX audit_entries_time ON ${name}.audit_entries (time)`);
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query(`BEGIN; LOCK TABLE ${name}.audit_entries IN ACCESS EXCLUSIVE MODE`);
      const unlocked = new Promise((resolve) => setTimeout(resolve, 11_000)).then(() => locker.query('COMMIT'));
      const upgraded = store(url, { schema: name, poolSize: 1 });
      await upgraded.open();
      await unlocked;
      const indexes = await sql<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE schemaname = $1', [
        name,
      ]);
      expect(indexes.map((i) => i.indexname)).toEqual(expect.arrayContaining(['audit_entries_appliance_time']));
      await upgraded.append(draft());
      // The migration's connection (the pool's only one) has its timeout back: a statement waiting on a lock is
      // cut off at 10 s again, not left waiting for ever.
      await locker.query(`BEGIN; LOCK TABLE ${name}.audit_chain_head IN ACCESS EXCLUSIVE MODE`);
      const started = Date.now();
      await expect(upgraded.head()).rejects.toMatchObject({ code: '57014' });
      expect(Date.now() - started).toBeGreaterThan(9_000);
      await locker.query('COMMIT');
    } finally {
      await locker.end();
    }
  }, 60_000);

  it('two stores appending at once serialise on the chain head row: one gapless chain', async () => {
    const name = schema('audit_two');
    const [a, b] = [store(url, { schema: name }), store(url, { schema: name })];
    await a.open();
    await b.open();
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        ...Array.from({ length: 10 }, () => a.append(draft({ comment: 'a' }))),
        ...Array.from({ length: 10 }, () => b.append(draft({ comment: 'b' }))),
      ]);
    }
    expect(await a.verify()).toEqual({ ok: true, count: 100 });
    expect((await b.head()).lastSeq).toBe(100);
  });

  it('which errors are for good (data exceptions, NOT NULL, CHECK, too large for an index) and which may pass later', () => {
    class Classifier extends PostgresAuditStore {
      permanent(error: unknown): boolean {
        return this.rejectsForGood(error);
      }
    }
    const classifier = new Classifier(url);
    for (const code of ['22021', '22001', '22P02', '23502', '23514', '54000']) {
      expect({ code, permanent: classifier.permanent({ code }) }).toEqual({ code, permanent: true });
    }
    for (const code of ['23505', '40001', '40P01', '57014', '08006', '53300', '122021', undefined]) {
      expect({ code, permanent: classifier.permanent({ code }) }).toEqual({ code, permanent: false });
    }
    expect(classifier.permanent(null)).toBe(false);
    expect(classifier.permanent(new Error('connection terminated'))).toBe(false);
  });

  /** The store's own connections (connect() is what open() uses), to ask PostgreSQL how they were set up. */
  class Connections extends PostgresAuditStore {
    pool() {
      return this.connect();
    }
  }

  it('its connections name the application, bound statements and idle transactions, and use the configured schema', async () => {
    const name = schema('audit_settings');
    const settings = async (options: ConstructorParameters<typeof PostgresAuditStore>[1]) => {
      const db = await new Connections(url, options).pool();
      try {
        const { rows } = await sqlTag<Record<string, string>>`SELECT
          current_setting('application_name') AS application,
          current_setting('statement_timeout') AS statement,
          current_setting('idle_in_transaction_session_timeout') AS idle,
          current_setting('search_path') AS path`.execute(db);
        return rows[0];
      } finally {
        await db.destroy();
      }
    };
    expect(await settings({ schema: name })).toEqual({
      application: 'backup-gateway-audit',
      statement: '10s',
      idle: '30s',
      path: name,
    });
    // Without a schema option the connection's own search_path stands.
    const [{ search_path: serverDefault }] = await sql<{ search_path: string }>('SHOW search_path');
    expect((await settings({})).path).toBe(serverDefault);
  });

  it.each([
    [undefined, 5],
    [2, 2],
  ])('poolSize %s: at most %s connections, however many queries wait', async (poolSize, connections) => {
    const db = await new Connections(url, { poolSize }).pool();
    try {
      const pids = await Promise.all(
        Array.from({ length: 12 }, async () => {
          const { rows } = await sqlTag<{ pid: number }>`SELECT pg_backend_pid() AS pid, pg_sleep(0.1)`.execute(db);
          return rows[0].pid;
        }),
      );
      expect(new Set(pids).size).toBe(connections);
    } finally {
      await db.destroy();
    }
  });

  it('an idle connection that dies is reported to onPoolError, not thrown at the process', async () => {
    const errors: Error[] = [];
    const db = await new Connections(url, { onPoolError: (error) => errors.push(error) }).pool();
    try {
      const { rows } = await sqlTag<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db);
      await sql('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      for (let waited = 0; errors.length === 0 && waited < 5000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(errors).toHaveLength(1);
      expect(errors[0].message).toMatch(/terminat/);
    } finally {
      await db.destroy();
    }
  });
});
