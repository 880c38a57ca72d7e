import Database from 'better-sqlite3';
import type { SqliteStatement } from 'kysely';
import { withStatementCache } from '../../../src/audit/store/sqlite-statement-cache.js';

describe('SQLite statement cache', () => {
  const open = () => {
    const database = new Database(':memory:');
    database.exec("CREATE TABLE t (a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x'), (2, 'y')");
    return { database, cached: withStatementCache(database) };
  };
  const SELECT = 'SELECT a, b FROM t WHERE a >= ? ORDER BY a';
  const all = (statement: SqliteStatement, ...parameters: unknown[]) =>
    (statement as unknown as Database.Statement).all(parameters);

  it('reuses a prepared statement by its SQL, unless it is still running', () => {
    const { database, cached } = open();
    const first = cached.prepare(SELECT);
    expect(cached.prepare(SELECT)).toBe(first);
    const running = (first as unknown as Database.Statement).iterate([1]);
    running.next();
    expect(cached.prepare(SELECT)).not.toBe(first);
    running.return?.();
    database.close();
  });

  it('reads rows as arrays in the select list order, and the same SQL as objects still, either way round', () => {
    const { database, cached } = open();
    expect(all(cached.prepare(SELECT), 1)).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: 'y' },
    ]);
    expect(cached.readColumns(SELECT, [2])).toEqual([[2, 'y']]);
    expect(all(cached.prepare(SELECT), 2)).toEqual([{ a: 2, b: 'y' }]);
    expect(cached.readColumns(SELECT, [1])).toEqual([
      [1, 'x'],
      [2, 'y'],
    ]);
    database.close();
  });
});
