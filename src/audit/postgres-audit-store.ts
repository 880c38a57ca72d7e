import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { ChainHead } from './audit-chain.js';
import { type AuditDatabase, migrateAuditSchema } from './audit-schema.js';
import { KyselyAuditStore } from './kysely-audit-store.js';

export interface PostgresAuditStoreOptions {
  /** Tables live in this schema (created if missing); default `public`. Tests use one schema per run. */
  schema?: string;
  /** false: use the schema as it is (the verify CLI). */
  migrate?: boolean;
  /** Called when an idle pooled connection fails (the pool replaces it); without a listener pg would crash the process. */
  onPoolError?: (error: Error) => void;
  poolSize?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The shared store for several gateway replicas. Writers in different processes serialise on the chain head
 * row (SELECT ... FOR UPDATE in the append transaction), which also keeps `seq` gapless and commits visible in
 * `seq` order, so keyset pagination never skips an entry that commits late. Every wait is bounded: a stuck
 * database turns into an error (and a refused run), never a hung request.
 */
export class PostgresAuditStore extends KyselyAuditStore {
  readonly kind = 'postgres' as const;
  private readonly schema: string;

  constructor(
    private readonly url: string,
    private readonly options: PostgresAuditStoreOptions = {},
  ) {
    super();
    this.schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(this.schema)) throw new Error(`invalid schema name ${JSON.stringify(this.schema)}`);
  }

  protected async connect(): Promise<Kysely<AuditDatabase>> {
    const pool = new pg.Pool({
      connectionString: this.url,
      max: this.options.poolSize ?? 5,
      connectionTimeoutMillis: 5000,
      statement_timeout: 10_000,
      idle_in_transaction_session_timeout: 30_000,
      application_name: 'backup-gateway-audit',
      options: `-c search_path=${this.schema}`,
      keepAlive: true,
    });
    pool.on('error', (error) => this.options.onPoolError?.(error));
    return new Kysely<AuditDatabase>({ dialect: new PostgresDialect({ pool }) });
  }

  protected async migrate(db: Kysely<AuditDatabase>): Promise<void> {
    if (this.options.migrate === false) return;
    if (this.schema !== 'public') await db.schema.createSchema(this.schema).ifNotExists().execute();
    await migrateAuditSchema(db, this.schema);
  }

  protected inWriteTransaction<T>(
    db: Kysely<AuditDatabase>,
    work: (trx: Kysely<AuditDatabase>) => Promise<T>,
  ): Promise<T> {
    return db.transaction().execute(work);
  }

  protected override async lockHead(trx: Kysely<AuditDatabase>): Promise<ChainHead> {
    const row = await trx.selectFrom('audit_chain_head').selectAll().where('id', '=', 1).forUpdate().executeTakeFirstOrThrow();
    return {
      lastSeq: Number(row.last_seq),
      lastId: row.last_id,
      lastHash: row.last_hash,
      anchorSeq: Number(row.anchor_seq),
      anchorHash: row.anchor_hash,
    };
  }

  /** Drops the schema and everything in it: for tests that made their own. */
  async dropSchema(): Promise<void> {
    if (this.schema === 'public') throw new Error('refusing to drop the public schema');
    const pool = new pg.Pool({ connectionString: this.url, max: 1 });
    try {
      await pool.query(sql`DROP SCHEMA IF EXISTS ${sql.id(this.schema)} CASCADE`.compile(new Kysely({ dialect: new PostgresDialect({ pool }) })).sql);
    } finally {
      await pool.end();
    }
  }
}
