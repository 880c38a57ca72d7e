import type Database from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';
import { LRUCache } from 'lru-cache';

/**
 * kysely's SQLite driver prepares every statement anew, and preparing (parsing and planning the SQL) was most of
 * the audit trail's cost per run: ~220 µs of CPU per request in the profile, fsync included or not. The store's
 * statements are a handful of fixed texts (the multi-row insert varies only with the batch size), so prepared
 * statements are kept by their SQL and reused. One still running (an open iterator) is never shared: a fresh
 * one is prepared instead.
 */
export function withStatementCache(database: Database.Database, max = 256): SqliteDatabase {
  const statements = new LRUCache<string, Database.Statement>({ max });
  return {
    close: () => database.close(),
    prepare(sql: string) {
      const cached = statements.get(sql);
      if (cached && !cached.busy) return cached;
      const statement = database.prepare(sql);
      statements.set(sql, statement);
      return statement;
    },
  };
}
