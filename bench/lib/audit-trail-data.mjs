// A year of audit trail, generated straight into a store (scenarios/audit-trail.mjs): entries as the gateway writes
// them (runs as a `requested` then a `completed` entry; denials, rejections, rate-limited windows and replays as one
// entry; a few runs never completed), over 20 appliances and 40 callers with skewed shares, timestamps spread evenly
// over 365 days, every entry sealed by the project's own sealEntry so that the chain verifies. Deterministic (a seeded
// generator): the same size gives the same trail, so that a purged prefix can be written back identically.
//
// Two writers: SQLite (better-sqlite3, the schema made by the store's own migrations, no journal and no fsync while
// loading) and PostgreSQL (COPY ... FROM STDIN through `psql` when it is installed, else multi-row INSERTs; both in
// transactions of BATCH rows). Each drops the table's secondary indexes first and creates them again at the end (a
// sort each, instead of 10 million insertions into five B-trees), from the definitions the migrations made.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Bump when the generated content changes: part of the cache key (with the schema's and the chain's code). */
export const GENERATOR_VERSION = 2;
export const TRAIL_START = Date.parse('2025-12-01T00:00:00.000Z');
export const TRAIL_SPAN_MS = 365 * 24 * 3600 * 1000;
export const APPLIANCES = Array.from({ length: 20 }, (_, i) => `vc-${String(i + 1).padStart(2, '0')}`);
export const ACTORS = Array.from({ length: 40 }, (_, i) =>
  i < 10 ? `svc-backup-${String(i + 1).padStart(2, '0')}` : `user-${String(i - 9).padStart(2, '0')}@corp.example`,
);
export const OUTCOMES = ['accepted', 'denied', 'rejected', 'failed', 'unknown', 'replayed', 'rate_limited'];
const SCHEDULES = ['default', 'nightly', 'weekly', 'pre-upgrade'];
/** Rows per transaction (and per COPY). */
const BATCH = 50_000;
const COLUMNS = [
  'seq',
  'id',
  'time',
  'stage',
  'request_id',
  'action',
  'actor_subject',
  'actor_name',
  'actor_client_id',
  'actor_auth_method',
  'actor_ip',
  'actor_user_agent',
  'appliance',
  'schedule',
  'comment',
  'outcome',
  'http_status',
  'code',
  'job_id',
  'duration_ms',
  'fleet_request_id',
  'requested_id',
  'replay_of',
  'count',
  'prev_hash',
  'hash',
  // Migration 0008: what the store writes (FINAL_OUTCOME), so the generated trail reads as one the gateway wrote.
  'final_outcome',
];

const dist = (root, module) => pathToFileURL(path.join(root, 'dist', 'audit', module)).href;

/** Entries sealed for the cache key (schemaKey): every kind of entry the generator writes, many times over. */
const KEY_SAMPLE = 1000;

/**
 * The cache key's part that follows the build: the schema's migrations (their modules), and what the chain writes, as
 * the hash of the last of KEY_SAMPLE entries this build seals (it covers every entry before it, through the links). An
 * edit to the chain's module that changes no byte it hashes (a comment, a faster walk) keeps the key, and with it two
 * 10M trails that take minutes each to generate.
 */
export async function schemaKey(root) {
  const hash = createHash('sha256');
  for (const file of ['store/audit-schema.js', 'store/fleet-runs-schema.js']) {
    hash.update(fs.readFileSync(path.join(root, 'dist', 'audit', file)));
  }
  let last;
  for await (const batch of trailEntries(root, KEY_SAMPLE)) last = batch.at(-1) ?? last;
  hash.update(last.hash);
  hash.update(String(GENERATOR_VERSION));
  return hash.digest('hex').slice(0, 12);
}

/** mulberry32: small, fast, seeded. */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An index into a list of n with Zipf-like shares (the first few appliances and callers are the busiest). */
function skewed(rand, n) {
  return Math.min(n - 1, Math.floor(n * rand() ** 2));
}

const uuid = (n) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/**
 * Sealed entries 1..count, in order, yielded in arrays of up to BATCH. Entry k's time is spread evenly over the year
 * (a run's `completed` follows its `requested` by its duration).
 */
export async function* trailEntries(root, count) {
  const { sealEntry, GENESIS_HASH } = await import(dist(root, 'audit-chain.js'));
  const { NOT_YET_KNOWN } = await import(dist(root, 'audit-entry.js'));
  const rand = random(20261206);
  const actors = ACTORS.map((subject, i) => ({
    subject,
    name: i < 10 ? null : `User ${i - 9}`,
    clientId: i < 10 ? subject : 'backup-console',
    authMethod: i < 10 ? 'jwt' : 'oidc',
    ip: `10.0.${Math.floor(i / 8)}.${10 + i}`,
    userAgent: i < 10 ? 'backup-scheduler/2.4' : 'Mozilla/5.0 (backup console)',
  }));
  const spacing = TRAIL_SPAN_MS / count;
  let previous = { seq: 0, hash: GENESIS_HASH };
  let batch = [];
  let run = 0;
  const seal = (draft) => {
    const entry = sealEntry(draft, previous);
    previous = entry;
    batch.push(entry);
    return entry;
  };
  while (previous.seq < count) {
    run += 1;
    const at = TRAIL_START + Math.floor(previous.seq * spacing);
    const actor = actors[skewed(rand, actors.length)];
    const common = {
      ...NOT_YET_KNOWN,
      requestId: `req-${run.toString(16).padStart(10, '0')}`,
      action: 'backup.schedule.run',
      actor,
      appliance: APPLIANCES[skewed(rand, APPLIANCES.length)],
      schedule: SCHEDULES[Math.floor(rand() * SCHEDULES.length)],
      comment: rand() < 0.3 ? 'before patching' : null,
    };
    const durationMs = 40 + Math.floor(rand() * 1500);
    const p = rand();
    const single = (fields) =>
      seal({ ...common, id: uuid(previous.seq + 1), time: new Date(at).toISOString(), stage: 'completed', ...fields });
    if (p < 0.02) {
      single({ outcome: 'denied', httpStatus: 403, code: 'FORBIDDEN', durationMs: 2 });
    } else if (p < 0.03) {
      single({ outcome: 'rejected', httpStatus: 409, code: 'IDEMPOTENCY_KEY_IN_USE', durationMs: 3 });
    } else if (p < 0.035) {
      single({
        outcome: 'rate_limited',
        httpStatus: 429,
        code: 'RATE_LIMITED',
        durationMs: 60_000,
        count: 1 + Math.floor(rand() * 50),
      });
    } else if (p < 0.05 && previous.seq > 0) {
      single({
        outcome: 'replayed',
        httpStatus: 202,
        durationMs: 1,
        replayOf: uuid(Math.max(1, previous.seq - Math.floor(rand() * 100))),
      });
    } else {
      const requested = seal({
        ...common,
        id: uuid(previous.seq + 1),
        time: new Date(at).toISOString(),
        stage: 'requested',
      });
      if (p >= 0.995 || previous.seq >= count) {
        // Never completed (the process died first): finalOutcome `unknown`.
      } else {
        const failed = p >= 0.94;
        requested.finalOutcome = failed ? 'failed' : 'accepted';
        seal({
          ...common,
          id: uuid(previous.seq + 1),
          time: new Date(at + durationMs).toISOString(),
          stage: 'completed',
          outcome: failed ? 'failed' : 'accepted',
          httpStatus: failed ? 502 : 202,
          code: failed ? 'APPLIANCE_UNAVAILABLE' : null,
          jobId: failed ? null : `job-${run.toString(16).padStart(10, '0')}`,
          durationMs,
          requestedId: requested.id,
        });
      }
    }
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** An entry as a row of audit_entries, in COLUMNS order. */
function rowValues(e) {
  const a = e.actor;
  return [
    e.seq,
    e.id,
    e.time,
    e.stage,
    e.requestId,
    e.action,
    a.subject,
    a.name,
    a.clientId,
    a.authMethod,
    a.ip,
    a.userAgent,
    e.appliance,
    e.schedule,
    e.comment,
    e.outcome,
    e.httpStatus,
    e.code,
    e.jobId,
    e.durationMs,
    e.fleetRequestId,
    e.requestedId,
    e.replayOf,
    e.count,
    e.prevHash,
    e.hash,
    e.finalOutcome ?? (e.stage === 'completed' ? e.outcome : 'unknown'),
  ];
}

/** Entries 1..upTo of the trail of `count` (a prefix: the part a retention purge deleted), and the last one. */
async function* prefix(root, count, upTo) {
  for await (const batch of trailEntries(root, count)) {
    const kept = batch.filter((e) => e.seq <= upTo);
    if (kept.length > 0) yield kept;
    if (kept.length < batch.length) return;
  }
}

// ---------------------------------------------------------------------------------------------------- SQLite

function openSqlite(root, file) {
  const Database = createRequire(path.join(root, 'package.json'))('better-sqlite3');
  return new Database(file);
}

/** Writes the trail of `count` entries into a new SQLite database at `file`. Returns { ms, last }. */
export async function generateSqlite(root, file, count, log = () => undefined) {
  const started = performance.now();
  for (const leftover of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(leftover, { force: true });
  const { SqliteAuditStore } = await import(dist(root, 'store/sqlite-audit-store.js'));
  const store = new SqliteAuditStore(file);
  await store.open(); // the schema, from the migrations
  await store.close();
  const db = openSqlite(root, file);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144'); // 256 MiB
    const indexes = db
      .prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_entries' AND sql IS NOT NULL",
      )
      .all();
    for (const { name } of indexes) db.exec(`DROP INDEX ${name}`);
    const insert = db.prepare(
      `INSERT INTO audit_entries (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
    );
    const insertAll = db.transaction((entries) => {
      for (const entry of entries) insert.run(rowValues(entry));
    });
    let last;
    let written = 0;
    for await (const batch of trailEntries(root, count)) {
      insertAll(batch);
      last = batch.at(-1);
      written += batch.length;
      if (written % 1_000_000 < BATCH)
        log(
          `  sqlite: ${written.toLocaleString('en')} entries (${Math.round((performance.now() - started) / 1000)} s)`,
        );
    }
    const indexStarted = performance.now();
    for (const { sql } of indexes) db.exec(sql);
    log(`  sqlite: indexes in ${Math.round((performance.now() - indexStarted) / 1000)} s`);
    db.prepare('UPDATE audit_chain_head SET last_seq = ?, last_id = ?, last_hash = ? WHERE id = 1').run(
      last.seq,
      last.id,
      last.hash,
    );
    db.exec('ANALYZE');
    db.pragma('journal_mode = WAL');
    return { ms: performance.now() - started, last: { seq: last.seq, id: last.id, hash: last.hash } };
  } finally {
    db.close();
  }
}

/**
 * Puts a SQLite trail back as generated after a retention purge and the runs measured meanwhile: entries after
 * `last.seq` deleted, the purged prefix (1..anchor) written again, the head and the anchor reset.
 */
export async function restoreSqlite(root, file, count, last) {
  const db = openSqlite(root, file);
  try {
    const { anchor_seq: anchor } = db.prepare('SELECT anchor_seq FROM audit_chain_head WHERE id = 1').get();
    db.prepare('DELETE FROM audit_entries WHERE seq > ?').run(last.seq);
    for (const table of ['idempotency_keys', 'notification_outbox', 'followed_jobs']) db.exec(`DELETE FROM ${table}`);
    const insert = db.prepare(
      `INSERT INTO audit_entries (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
    );
    const insertAll = db.transaction((entries) => {
      for (const entry of entries) insert.run(rowValues(entry));
    });
    for await (const batch of prefix(root, count, anchor)) insertAll(batch);
    const { GENESIS_HASH } = await import(dist(root, 'audit-chain.js'));
    db.prepare(
      'UPDATE audit_chain_head SET last_seq = ?, last_id = ?, last_hash = ?, anchor_seq = 0, anchor_hash = ? WHERE id = 1',
    ).run(last.seq, last.id, last.hash, GENESIS_HASH);
    db.pragma('wal_checkpoint(TRUNCATE)');
    return anchor;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------------- PostgreSQL

/** `psql` on the PATH, or undefined. */
function findPsql() {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, 'psql');
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** COPY text format: \N for null, backslash escapes for the few characters that need them. */
function copyField(value) {
  if (value === null || value === undefined) return '\\N';
  const text = String(value);
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c])
    : text;
}

/** Runs `psql url -c COPY ... FROM STDIN`, writing `batches` of entries to it. */
async function copyInto(psql, url, schema, batches) {
  const child = spawn(
    psql,
    [url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `COPY ${schema}.audit_entries (${COLUMNS.join(', ')}) FROM STDIN`],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.on('close', resolve));
  let last;
  for await (const batch of batches) {
    let text = '';
    for (const entry of batch) text += `${rowValues(entry).map(copyField).join('\t')}\n`;
    if (!child.stdin.write(text)) await new Promise((resolve) => child.stdin.once('drain', resolve));
    last = batch.at(-1);
  }
  child.stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`psql COPY exited with ${code}: ${stderr.trim()}`);
  return last;
}

/** Multi-row INSERTs (1,000 rows each) inside one transaction per batch: when psql is not installed. */
async function insertInto(client, schema, batches) {
  let last;
  for await (const batch of batches) {
    await client.query('BEGIN');
    for (let from = 0; from < batch.length; from += 1000) {
      const rows = batch.slice(from, from + 1000);
      const params = [];
      const tuples = rows.map((entry) => {
        const values = rowValues(entry);
        const start = params.length;
        params.push(...values);
        return `(${values.map((_, i) => `$${start + i + 1}`).join(',')})`;
      });
      await client.query(
        `INSERT INTO ${schema}.audit_entries (${COLUMNS.join(', ')}) VALUES ${tuples.join(',')}`,
        params,
      );
    }
    await client.query('COMMIT');
    last = batch.at(-1);
  }
  return last;
}

async function pgClient(root, url) {
  const pg = createRequire(path.join(root, 'package.json'))('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/**
 * Writes the trail of `count` entries into the schema `schema` (dropped and created again) of the database at `url`.
 * Returns { ms, last, via }.
 */
export async function generatePostgres(root, url, schema, count, log = () => undefined) {
  const started = performance.now();
  const client = await pgClient(root, url);
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    const { PostgresAuditStore } = await import(dist(root, 'store/postgres-audit-store.js'));
    const store = new PostgresAuditStore(url, { schema });
    await store.open(); // creates the schema, runs the migrations
    await store.close();
    // Secondary indexes (not the primary key, not the unique constraint on id) go, and come back after the load.
    const { rows: indexes } = await client.query(
      `SELECT indexname, indexdef FROM pg_indexes i
        WHERE schemaname = $1 AND tablename = 'audit_entries'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                           WHERE n.nspname = $1 AND c.conname = i.indexname)`,
      [schema],
    );
    for (const { indexname } of indexes) await client.query(`DROP INDEX ${schema}.${indexname}`);
    const psql = findPsql();
    let written = 0;
    async function* counted() {
      for await (const batch of trailEntries(root, count)) {
        yield batch;
        written += batch.length;
        if (written % 1_000_000 < BATCH)
          log(
            `  postgres: ${written.toLocaleString('en')} entries (${Math.round((performance.now() - started) / 1000)} s)`,
          );
      }
    }
    const last = psql ? await copyInto(psql, url, schema, counted()) : await insertInto(client, schema, counted());
    const indexStarted = performance.now();
    await client.query("SET maintenance_work_mem = '256MB'");
    for (const { indexdef } of indexes) await client.query(indexdef);
    log(`  postgres: indexes in ${Math.round((performance.now() - indexStarted) / 1000)} s`);
    await client.query(
      `UPDATE ${schema}.audit_chain_head SET last_seq = $1, last_id = $2, last_hash = $3 WHERE id = 1`,
      [last.seq, last.id, last.hash],
    );
    await client.query(`VACUUM ANALYZE ${schema}.audit_entries`);
    return {
      ms: performance.now() - started,
      last: { seq: last.seq, id: last.id, hash: last.hash },
      via: psql ? 'COPY (psql)' : 'INSERT',
    };
  } finally {
    await client.end();
  }
}

/** restoreSqlite's counterpart. */
export async function restorePostgres(root, url, schema, count, last) {
  const client = await pgClient(root, url);
  try {
    const { rows } = await client.query(`SELECT anchor_seq FROM ${schema}.audit_chain_head WHERE id = 1`);
    const anchor = Number(rows[0].anchor_seq);
    await client.query(`DELETE FROM ${schema}.audit_entries WHERE seq > $1`, [last.seq]);
    for (const table of ['idempotency_keys', 'notification_outbox', 'followed_jobs'])
      await client.query(`DELETE FROM ${schema}.${table}`);
    const psql = findPsql();
    if (psql) await copyInto(psql, url, schema, prefix(root, count, anchor));
    else await insertInto(client, schema, prefix(root, count, anchor));
    const { GENESIS_HASH } = await import(dist(root, 'audit-chain.js'));
    await client.query(
      `UPDATE ${schema}.audit_chain_head SET last_seq = $1, last_id = $2, last_hash = $3, anchor_seq = 0, anchor_hash = $4 WHERE id = 1`,
      [last.seq, last.id, last.hash, GENESIS_HASH],
    );
    await client.query(`VACUUM ANALYZE ${schema}.audit_entries`);
    return anchor;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------- the cache

/**
 * Where generated trails are kept between runs: BENCH_TRAIL_CACHE, else <os temp dir>/backup-gateway-bench-cache. A
 * SQLite trail is `audit-trail-<count>-<schemaKey>.db` there, valid while `<same>.json` (written last, removed while a
 * run changes the file) exists.
 */
export function cacheDir() {
  return process.env.BENCH_TRAIL_CACHE ?? path.join(os.tmpdir(), 'backup-gateway-bench-cache');
}

/** The cached SQLite trail of `count` entries, generated first when missing: { file, meta, cached }. */
export async function sqliteTrail(root, count, log) {
  const dir = cacheDir();
  fs.mkdirSync(dir, { recursive: true });
  const key = await schemaKey(root);
  const base = path.join(dir, `audit-trail-${count}-${key}`);
  const file = `${base}.db`;
  const metaFile = `${base}.json`;
  if (fs.existsSync(metaFile) && fs.existsSync(file)) {
    return { file, meta: JSON.parse(fs.readFileSync(metaFile, 'utf8')), cached: true, release: markDirty(metaFile) };
  }
  log(`  sqlite: generating ${count.toLocaleString('en')} entries into ${file}`);
  const generated = await generateSqlite(root, file, count, log);
  const meta = { ...trailMeta(key, count, generated), bytes: fs.statSync(file).size };
  fs.writeFileSync(metaFile, JSON.stringify(meta, null, 2));
  return { file, meta, cached: false, release: markDirty(metaFile) };
}

/** What a cached trail records about its generation, for both stores (each adds its own details). */
function trailMeta(key, count, generated) {
  return {
    count,
    schemaKey: key,
    generatorVersion: GENERATOR_VERSION,
    generatedAt: new Date().toISOString(),
    generationMs: generated.ms,
    last: generated.last,
  };
}

/** Takes the cache mark away while a run may change the trail; the function returned puts it back. */
function markDirty(metaFile) {
  const text = fs.readFileSync(metaFile, 'utf8');
  return {
    dirty: () => fs.rmSync(metaFile, { force: true }),
    clean: () => fs.writeFileSync(metaFile, text),
  };
}

/**
 * The cached PostgreSQL trail of `count` entries: the schema `trail_<count>_<schemaKey>` of the database at `url`, valid
 * while its table bench_trail_meta holds a row (written last). Generated first when missing: { schema, meta, cached }.
 */
export async function postgresTrail(root, url, count, log) {
  const key = await schemaKey(root);
  const schema = `trail_${count}_${key}`;
  const client = await pgClient(root, url);
  try {
    const { rows } = await client.query(
      `SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'bench_trail_meta'`,
      [schema],
    );
    if (rows.length > 0) {
      const meta = (await client.query(`SELECT meta FROM ${schema}.bench_trail_meta`)).rows[0]?.meta;
      if (meta) return { schema, meta: JSON.parse(meta), cached: true };
    }
    log(`  postgres: generating ${count.toLocaleString('en')} entries into schema ${schema}`);
    const generated = await generatePostgres(root, url, schema, count, log);
    const meta = { ...trailMeta(key, count, generated), via: generated.via };
    await client.query(`CREATE TABLE ${schema}.bench_trail_meta (meta text NOT NULL)`);
    await client.query(`INSERT INTO ${schema}.bench_trail_meta (meta) VALUES ($1)`, [JSON.stringify(meta)]);
    return { schema, meta, cached: false };
  } finally {
    await client.end();
  }
}

/** Marks a PostgreSQL trail as not (or again) as generated. */
export async function setPostgresTrailClean(root, url, schema, meta) {
  const client = await pgClient(root, url);
  try {
    await client.query(`DELETE FROM ${schema}.bench_trail_meta`);
    if (meta) await client.query(`INSERT INTO ${schema}.bench_trail_meta (meta) VALUES ($1)`, [JSON.stringify(meta)]);
  } finally {
    await client.end();
  }
}

// Pre-generating from the command line: node bench/lib/audit-trail-data.mjs sqlite|postgres <count> [postgres url]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [which, countText, url] = process.argv.slice(2);
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
  const count = Number(countText);
  const log = (m) => console.error(m);
  const got = which === 'sqlite' ? await sqliteTrail(root, count, log) : await postgresTrail(root, url, count, log);
  console.log(JSON.stringify({ ...got, release: undefined }, null, 2));
}
