// The PostgreSQL server the scenarios with a PostgreSQL audit store use, and a schema of their own in it.
//
// The URL is BENCH_POSTGRES_URL, else AUDIT_TEST_POSTGRES_URL, else what `.ci/postgres.sh` prints (it installs and
// starts a server if needed); none: the scenario is skipped and says why. A gateway writes into a schema created for
// it and dropped afterwards (the URL's `options=-c search_path=...`, which the store honours), so it never touches
// the tables of the tests sharing that database.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { pidsNamed } from './cpu.mjs';

/** The PostgreSQL server to use: { url, from } or { skipped: why }. Looked up once per run. */
export function postgresServer(ctx) {
  ctx.postgres ??= findPostgres(ctx);
  return ctx.postgres;
}

function findPostgres(ctx) {
  for (const name of ['BENCH_POSTGRES_URL', 'AUDIT_TEST_POSTGRES_URL']) {
    if (process.env[name]) return { url: process.env[name], from: name };
  }
  const script = path.join(ctx.benchDir, '..', '.ci', 'postgres.sh');
  try {
    ctx.log('  no BENCH_POSTGRES_URL or AUDIT_TEST_POSTGRES_URL: trying .ci/postgres.sh');
    const out = execFileSync('bash', [script], {
      encoding: 'utf8',
      timeout: 300_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const match = /^export AUDIT_TEST_POSTGRES_URL=(\S+)$/m.exec(out);
    if (match) return { url: match[1], from: '.ci/postgres.sh' };
    return { skipped: 'no PostgreSQL: .ci/postgres.sh printed no URL (set BENCH_POSTGRES_URL)' };
  } catch (error) {
    const why = (error.stderr?.toString() ?? error.message).trim().split('\n').at(-1);
    return {
      skipped: `no PostgreSQL: BENCH_POSTGRES_URL and AUDIT_TEST_POSTGRES_URL unset, .ci/postgres.sh failed (${why})`,
    };
  }
}

/**
 * Creates the schema `<prefix>_<pid>` on `server`, runs `work({ url, schema, local, database })` with a URL whose
 * search_path is that schema, and drops it afterwards, however `work` ends. `local`: the server runs on this
 * machine; then `database` lists its processes (every `postgres` one), whose CPU a comparison can report.
 */
export async function withBenchSchema(server, prefix, work) {
  const schema = `${prefix}_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = `${server.url}${server.url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(server.url).hostname);
    return await work({ url, schema, local, database: local ? () => pidsNamed('postgres') : undefined });
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
  }
}
