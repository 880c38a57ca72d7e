/**
 * Real databases for the store suite: a SQLite file in a fresh temp dir, or a fresh schema in the PostgreSQL
 * that AUDIT_TEST_POSTGRES_URL points at (.ci/postgres.sh starts one). Tampering goes straight to the database,
 * as someone with database access would do it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { AuditStore } from '../../src/audit/store/audit-store.js';
import { PostgresAuditStore } from '../../src/audit/store/postgres-audit-store.js';
import { SqliteAuditStore } from '../../src/audit/store/sqlite-audit-store.js';
import { WorkerAuditStore } from '../../src/audit/store/worker-audit-store.js';
import { assertBuildIsFresh } from './built.js';

export interface ChildJob {
  count: number;
  /** Becomes the entries' actor subject and request id prefix. */
  tag: string;
}

/** A store as the suite drives it: `purgeBatch` lets a test purge in several small batches. */
export type SuiteStore = AuditStore & { purgeBatch: number | undefined };

export interface StoreFixture {
  kind: 'sqlite' | 'postgres';
  /** A new store on this fixture's database, not yet opened. */
  newStore(): SuiteStore;
  /** Another store of the same kind on the same database (another connection; the worker fixture's, another thread). */
  rivalStore(): SuiteStore;
  /** Runs SQL directly on the database. */
  sql(statement: string): Promise<void>;
  /**
   * Separate Node processes, each with its own store on this database, appending at the same moment: all are
   * started and opened first, then told to go together. Resolves when all have exited cleanly.
   */
  appendFromChildren(jobs: ChildJob[]): Promise<void>;
  dispose(): Promise<void>;
}

export type FixtureFactory = () => Promise<StoreFixture>;

/** The SQLite store from the sources, on this thread (its rival, a second connection, never races it: see SuiteOptions). */
export const sqliteFixture: FixtureFactory = () => sqliteFiles((path) => new SqliteAuditStore(path));

/**
 * The SQLite store as the gateway runs it: on a worker thread, reached by messages, with a rival on a thread of its
 * own. The thread runs the built worker (dist/): this is the one suite that needs the build.
 */
export const sqliteWorkerFixture: FixtureFactory = () => {
  assertBuildIsFresh(WORKER);
  return sqliteFiles((path) => new WorkerAuditStore({ path }));
};

const WORKER = 'dist/audit/store/audit-store-worker.js';

async function sqliteFiles(newStore: (path: string) => SuiteStore): Promise<StoreFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'audit-store-'));
  // A directory that does not exist yet: the store creates it.
  const path = join(dir, 'data', 'audit.db');
  return {
    kind: 'sqlite',
    newStore: () => newStore(path),
    rivalStore: () => newStore(path),
    async sql(statement) {
      const db = new Database(path);
      try {
        db.exec(statement);
      } finally {
        db.close();
      }
    },
    appendFromChildren: (jobs) => runChildren(jobs, ['sqlite', path, '-']),
    async dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresFixture(url: string): FixtureFactory {
  return async () => {
    const schema = `audit_test_${randomBytes(6).toString('hex')}`;
    const pool = new pg.Pool({ connectionString: url, max: 2, options: `-c search_path=${schema}` });
    return {
      kind: 'postgres',
      newStore: () => new PostgresAuditStore(url, { schema }),
      rivalStore: () => new PostgresAuditStore(url, { schema }),
      async sql(statement) {
        await pool.query(statement);
      },
      appendFromChildren: (jobs) => runChildren(jobs, ['postgres', url, schema]),
      async dispose() {
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await pool.end();
      },
    };
  };
}

const CHILD = resolve('test/support/append-child.mjs');

async function runChildren(jobs: ChildJob[], args: string[]): Promise<void> {
  assertBuildIsFresh('dist/audit/store/sqlite-audit-store.js', 'dist/audit/store/postgres-audit-store.js');
  const children = jobs.map((job) =>
    spawn(process.execPath, [CHILD, ...args, String(job.count), job.tag], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  const stderr = children.map(() => [] as string[]);
  const exits = children.map(
    (child, i) =>
      new Promise<void>((done, fail) => {
        child.stderr.on('data', (chunk) => stderr[i].push(String(chunk)));
        child.on('exit', (code) =>
          code === 0 ? done() : fail(new Error(`child ${jobs[i].tag} exited ${code}: ${stderr[i].join('')}`)),
        );
      }),
  );
  const ready = children.map(
    (child) =>
      new Promise<void>((done) => {
        const lines = createInterface({ input: child.stdout });
        lines.on('line', (line) => line === 'ready' && done());
      }),
  );
  await Promise.race([Promise.all(ready), Promise.all(exits)]);
  for (const child of children) child.stdin.end('go\n');
  await Promise.all(exits);
}
