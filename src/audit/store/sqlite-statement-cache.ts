import type Database from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';
import { LRUCache } from 'lru-cache';

/** kysely's view of the database, plus rows read as arrays through the same prepared statements. */
export interface CachedSqliteDatabase extends SqliteDatabase {
  /** The rows of a read, each an array of its column values in the select list's order (better-sqlite3's `raw()`). */
  readColumns(sql: string, parameters: readonly unknown[]): unknown[][];
}

/**
 * kysely's SQLite driver prepares every statement anew, and preparing (parsing and planning the SQL) was most of
 * the audit trail's cost per run: ~220 µs of CPU per request in the profile, fsync included or not. The store's
 * statements are a handful of fixed texts (the multi-row insert varies only with the batch size), so prepared
 * statements are kept by their SQL and reused. One still running (an open iterator) is never shared: a fresh
 * one is prepared instead. Statements that give rows as arrays are kept apart: raw mode belongs to the statement.
 */
export function withStatementCache(database: Database.Database, max = 256): CachedSqliteDatabase {
  const statements = new LRUCache<string, Database.Statement>({ max });
  const arrays = new LRUCache<string, Database.Statement>({ max });
  const prepare = (cache: typeof statements, sql: string, raw: boolean): Database.Statement => {
    const cached = cache.get(sql);
    if (cached && !cached.busy) return cached;
    const statement = database.prepare(sql);
    if (raw) statement.raw(true);
    cache.set(sql, statement);
    return statement;
  };
  return {
    close: () => database.close(),
    prepare: (sql) => prepare(statements, sql, false),
    readColumns: (sql, parameters) => prepare(arrays, sql, true).all(parameters) as unknown[][],
  };
}
