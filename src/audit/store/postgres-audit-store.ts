import { type CompiledQuery, Kysely, sql } from 'kysely';
import pg from 'pg';
import { verifyChain } from '../audit-chain.js';
import type { AuditFilter, VerifyResult } from '../audit-entry.js';
import { type AuditDatabase, migrateAuditSchema } from './audit-schema.js';
import type { AuditPageRequest, NdjsonPage } from './audit-store.js';
import { KyselyAuditStore } from './kysely-audit-store.js';
import type { Clock } from './kysely-idempotency-keys.js';
import { AuditPostgresDialect } from './postgres-introspector.js';
import { StoreThread, stretchOn } from './store-thread.js';

export interface PostgresAuditStoreOptions {
  /**
   * Tables live in this schema (created if missing). Default: the connection's current schema, i.e. the first
   * of its search_path (`public`, or e.g. `?options=-c%20search_path%3Daudit` in the URL). Tests use one per run.
   */
  schema?: string;
  /** false: use the schema as it is (the verify CLI). */
  migrate?: boolean;
  /** Called when an idle pooled connection fails (the pool replaces it); without a listener pg would crash the process. */
  onPoolError?: (error: Error) => void;
  poolSize?: number;
  /** The connections' application_name (pg_stat_activity). */
  applicationName?: string;
  /**
   * The NDJSON export on a reader thread, and verification on that thread and a second one (half the chain each), with
   * connections of their own (the gateway; not the verify CLI, which does nothing else meanwhile). pg's socket reads
   * are buffers outside V8's heap, and the gigabytes of them a walk over a long trail takes in made V8 collect the
   * whole heap of the event loop's thread again and again: 13–15 ms at a time at 10M entries, beside requests
   * (bench/README.md, "PostgreSQL's reader thread", "Verification on two threads").
   */
  readerThread?: boolean;
}

/**
 * The reader thread's connections: one walk at a time needs one; the second lets an export run beside it. Its
 * verifier thread walks the other half of a verification, on one connection.
 */
const READER_POOL_SIZE = 2;
const VERIFIER_POOL_SIZE = 1;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const APPLICATION_NAME = 'backup-gateway-audit';

/**
 * The shared store for several gateway replicas. Writers in different processes serialise on the chain head
 * row (SELECT ... FOR UPDATE in the append transaction), which also keeps `seq` gapless and commits visible in
 * `seq` order, so keyset pagination never skips an entry that commits late. Every wait is bounded: a stuck
 * database turns into an error (and a refused run), never a hung request.
 */
export class PostgresAuditStore extends KyselyAuditStore {
  readonly kind = 'postgres' as const;
  protected override readonly headRowLock = true;
  protected override readonly walksAhead = true;
  /**
   * Without the reader thread (a same-thread store: the verify CLI, which never exports), a page is parsed and
   * serialised on the calling thread, which pages of 500 held up to 19–24 ms at a time and pages of 100 up to
   * 8.7–10.6 ms, at the same rate (bench/README.md, "The final outcome stored"). With it (the gateway), 500: below.
   */
  override readonly exportPageSize: number = 100;
  private pgPool: pg.Pool | undefined;
  private readonly reader: StoreThread | undefined;
  private readonly verifier: StoreThread | undefined;

  constructor(
    private readonly url: string,
    private readonly options: PostgresAuditStoreOptions = {},
  ) {
    super();
    if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
      throw new Error(`invalid schema name ${JSON.stringify(options.schema)}`);
    }
    if (options.readerThread) {
      const thread = (poolSize: number) =>
        new StoreThread({
          store: 'postgres',
          url,
          schema: options.schema,
          poolSize,
          applicationName: `${options.applicationName ?? APPLICATION_NAME}-reader`,
        });
      this.reader = thread(READER_POOL_SIZE);
      this.verifier = thread(VERIFIER_POOL_SIZE);
      // Built on the reader thread, a page costs the event loop only its writing out, as SQLite's reader's do.
      this.exportPageSize = 500;
    }
  }

  /** The reader threads start with their first call, after this store has migrated the schema. */
  override async open(): Promise<void> {
    await super.open();
    await this.reader?.open(false);
    await this.verifier?.open(false);
  }

  override async close(): Promise<void> {
    await Promise.all([this.reader?.close(), this.verifier?.close()]);
    await super.close();
  }

  /** With the reader threads: half the chain on each, the head read here. */
  override verify(): Promise<VerifyResult> {
    if (!this.reader || !this.verifier) return super.verify();
    return verifyChain(this, [this.reader, this.verifier].map(stretchOn));
  }

  override queryNdjson(filter: AuditFilter, page: AuditPageRequest): Promise<NdjsonPage> {
    if (!this.reader) return super.queryNdjson(filter, page);
    return this.reader.call({ call: 'queryNdjson', args: [filter, page] }) as Promise<NdjsonPage>;
  }

  protected async connect(): Promise<Kysely<AuditDatabase>> {
    const pool = new pg.Pool({
      connectionString: this.url,
      max: this.options.poolSize ?? 5,
      connectionTimeoutMillis: 5000,
      statement_timeout: 10_000,
      idle_in_transaction_session_timeout: 30_000,
      application_name: this.options.applicationName ?? APPLICATION_NAME,
      ...(this.options.schema !== undefined && { options: `-c search_path=${this.options.schema}` }),
      keepAlive: true,
    });
    pool.on('error', (error) => this.options.onPoolError?.(error));
    this.pgPool = pool;
    return new Kysely<AuditDatabase>({ dialect: new AuditPostgresDialect({ pool }) });
  }

  /** On the pool kysely uses, as kysely runs a query (its text and parameters), with pg's `rowMode: 'array'`. */
  protected async readColumns(_db: Kysely<AuditDatabase>, query: CompiledQuery): Promise<unknown[][]> {
    if (!this.pgPool) throw new Error('the postgres audit store is not open');
    const { rows } = await this.pgPool.query({ text: query.sql, values: [...query.parameters], rowMode: 'array' });
    return rows;
  }

  protected async migrate(db: Kysely<AuditDatabase>): Promise<void> {
    if (this.options.migrate === false) return;
    let schema = this.options.schema;
    if (schema !== undefined) {
      await createSchemaIfMissing(db, schema);
    } else {
      const { rows } = await sql<{ schema: string | null }>`SELECT current_schema() AS schema`.execute(db);
      schema = rows[0]?.schema ?? undefined;
      if (schema === undefined) throw new Error('no schema of the search_path exists; create one or set search_path');
    }
    // Named explicitly: kysely otherwise finds its migration table in any schema, even another gateway's. On one
    // connection without the pool's statement timeout: a migration that builds an index reads the whole table (about
    // a minute at 10M entries), and cut off at 10 s it failed every start after an upgrade.
    const migrating = schema;
    await db.connection().execute(async (connection) => {
      await sql`SET statement_timeout = 0`.execute(connection);
      try {
        await migrateAuditSchema(connection, migrating);
      } finally {
        await sql`RESET statement_timeout`.execute(connection);
      }
    });
  }

  /**
   * SQLSTATE class 22 (data exception: U+0000 in text, an invalid byte sequence, a value out of range), a NOT NULL or
   * CHECK violation, or 54000 (a value too large for an index): the same row fails every time. Everything else (a
   * lost connection, a lock or statement timeout, a serialisation failure) may pass on a retry.
   */
  protected rejectsForGood(error: unknown): boolean {
    const code = String((error as { code?: unknown })?.code ?? '');
    return code.startsWith('22') || code === '23502' || code === '23514' || code === '54000';
  }

  /** The server's clock, the one every replica shares (`now()`: the transaction's start). */
  protected readonly clock: Clock = (offsetMs = 0) =>
    sql<string>`to_char((now() + make_interval(secs => ${offsetMs / 1000})) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

  protected inWriteTransaction<T>(
    db: Kysely<AuditDatabase>,
    work: (trx: Kysely<AuditDatabase>) => Promise<T>,
  ): Promise<T> {
    return db.transaction().execute(work);
  }
}

/**
 * `CREATE SCHEMA IF NOT EXISTS` is not safe against itself: when replicas start together on a new schema, the
 * losers of the race fail with a unique violation (pg_namespace) although the schema now exists. That is success.
 */
async function createSchemaIfMissing(db: Kysely<AuditDatabase>, schema: string): Promise<void> {
  try {
    await db.schema.createSchema(schema).ifNotExists().execute();
  } catch (error) {
    const { rows } = await sql`SELECT 1 FROM pg_namespace WHERE nspname = ${schema}`.execute(db);
    if (rows.length === 0) throw error;
  }
}
