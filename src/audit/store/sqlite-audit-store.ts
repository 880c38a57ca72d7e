import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { type CompiledQuery, Kysely, SqliteDialect, sql } from 'kysely';
import { type AuditDatabase, migrateAuditSchema } from './audit-schema.js';
import { KyselyAuditStore } from './kysely-audit-store.js';
import type { Clock } from './kysely-idempotency-keys.js';
import { type CachedSqliteDatabase, withStatementCache } from './sqlite-statement-cache.js';

export interface SqliteAuditStoreOptions {
  /**
   * How long a write waits for another process's write lock (ms), default 2000. better-sqlite3 waits synchronously,
   * blocking the event loop meanwhile, so keep it short: one gateway per file is the supported setup, and a
   * writer holds the lock for one insert.
   */
  busyTimeoutMs?: number;
  /** false: use an existing database as it is (the verify CLI): no directory, no file, no migrations. */
  migrate?: boolean;
  /**
   * true: a connection that can only read an existing database (WorkerAuditStore's reader thread), so that nothing
   * run on it can write, whatever calls it gets; implies `migrate: false`.
   */
  readOnly?: boolean;
}

const PERMANENT_CODES = new Set([
  'SQLITE_CONSTRAINT_CHECK',
  'SQLITE_CONSTRAINT_NOTNULL',
  'SQLITE_CONSTRAINT_TRIGGER',
  'SQLITE_TOOBIG',
  'SQLITE_MISMATCH',
]);

/**
 * The embedded store: one file, WAL (readers never block the writer) and `synchronous = FULL`, so a committed
 * entry survives a power cut, not just a process crash; the run it records is only sent after that commit.
 */
export class SqliteAuditStore extends KyselyAuditStore {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  private database: CachedSqliteDatabase | undefined;
  /** The host's clock, read by SQLite (one gateway per file, so no other process's clock matters). */
  protected readonly clock: Clock = (offsetMs = 0) =>
    sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`${offsetMs / 1000} seconds`})`;

  constructor(
    path: string,
    private readonly options: SqliteAuditStoreOptions = {},
  ) {
    super();
    this.path = path === ':memory:' ? path : resolve(path);
  }

  protected async connect(): Promise<Kysely<AuditDatabase>> {
    const readOnly = this.options.readOnly ?? false;
    const migrate = this.migrates;
    if (migrate && this.path !== ':memory:') {
      mkdirSync(dirname(this.path), { recursive: true });
      createPrivately(this.path);
    }
    const database = new Database(this.path, {
      readonly: readOnly,
      fileMustExist: !migrate,
      timeout: this.options.busyTimeoutMs ?? 2000,
    });
    try {
      if (migrate) database.pragma('journal_mode = WAL');
      if (!readOnly) database.pragma('synchronous = FULL');
    } catch (error) {
      database.close();
      throw error;
    }
    this.database = withStatementCache(database);
    return new Kysely<AuditDatabase>({ dialect: new SqliteDialect({ database: this.database }) });
  }

  /**
   * On the connection kysely hands out, so that a read waits, as kysely's own reads do, for a transaction under way
   * on this one connection to end, instead of reading its uncommitted rows between two of its statements.
   */
  protected readColumns(db: Kysely<AuditDatabase>, query: CompiledQuery): Promise<unknown[][]> {
    const database = this.database;
    if (!database) throw new Error('the sqlite audit store is not open');
    return db.connection().execute(async () => database.readColumns(query.sql, query.parameters));
  }

  /** A CHECK, NOT NULL or trigger constraint, a value too big or of the wrong type: the same row fails every time. */
  protected rejectsForGood(error: unknown): boolean {
    return PERMANENT_CODES.has(String((error as { code?: unknown })?.code));
  }

  protected async migrate(db: Kysely<AuditDatabase>): Promise<void> {
    if (this.migrates) await migrateAuditSchema(db);
  }

  /** Whether this store creates and migrates its database: not when told not to, and never read-only. */
  private get migrates(): boolean {
    return !this.options.readOnly && (this.options.migrate ?? true);
  }

  /**
   * BEGIN IMMEDIATE takes the database's write lock at once (waiting up to the busy timeout for another process),
   * so the head read next cannot go stale before the insert. Kysely's own transactions begin DEFERRED.
   */
  protected inWriteTransaction<T>(
    db: Kysely<AuditDatabase>,
    work: (trx: Kysely<AuditDatabase>) => Promise<T>,
  ): Promise<T> {
    return db.connection().execute(async (connection) => {
      await sql`BEGIN IMMEDIATE`.execute(connection);
      try {
        const result = await work(connection);
        await sql`COMMIT`.execute(connection);
        return result;
      } catch (error) {
        await sql`ROLLBACK`.execute(connection).catch(() => undefined);
        throw error;
      }
    });
  }
}

/**
 * The audit trail names callers, addresses and appliances: readable by its owner only, like the spool (0600).
 * SQLite would create the file with 0644 under the usual umask; created empty here first, it is a new database to
 * SQLite, and SQLite gives the -wal and -shm files it creates the database file's permissions. An existing file
 * keeps the permissions it has.
 */
function createPrivately(path: string): void {
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
