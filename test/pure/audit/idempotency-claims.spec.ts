import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, type KyselyPlugin, SqliteDialect, sql } from 'kysely';
import { type AuditDatabase, migrateAuditSchema } from '../../../src/audit/store/audit-schema.js';
import { type Clock, claimKey, completeKey, releaseKey } from '../../../src/audit/store/kysely-idempotency-keys.js';
import { tempDirPerTest } from '../../support/temp-dir.js';

const NOW = '2026-03-10T08:00:00.000Z';
const LATER = '2026-03-11T08:00:00.000Z';
const DAY_MS = 24 * 3_600_000;
/** The database's clock, stopped at NOW: the statements read time only through it. */
const clock: Clock = (offsetMs = 0) => sql<string>`${new Date(Date.parse(NOW) + offsetMs).toISOString()}`;
const claim = { caller: 'alice', key: 'k-1', fingerprint: 'fp-1', owner: 'me', ttlMs: DAY_MS, leaseMs: 60_000 };

/**
 * The claim statement on a real SQLite database, with another holder of the key acting between its statements: what
 * a concurrent release (or a racing replica) does on PostgreSQL, made to happen at a chosen moment. The other holder
 * writes through its own connection, as another request would.
 */
describe('claiming an idempotency key', () => {
  const dir = tempDirPerTest('idempotency-');
  let path: string;
  let other: Database.Database;
  const dbs: Kysely<AuditDatabase>[] = [];

  async function database(plugin?: KyselyPlugin): Promise<Kysely<AuditDatabase>> {
    const db = new Kysely<AuditDatabase>({
      dialect: new SqliteDialect({ database: new Database(path) }),
      plugins: plugin ? [plugin] : [],
    });
    dbs.push(db);
    return db;
  }

  beforeEach(async () => {
    path = join(dir(), 'audit.db');
    await migrateAuditSchema(await database());
    other = new Database(path);
  });
  afterEach(async () => {
    other.close();
    await Promise.all(dbs.splice(0).map((db) => db.destroy()));
  });

  /** Another request's claim of k-1, live until `leaseUntil`. */
  const hold = (
    state = 'in_progress',
    expiresAt = LATER,
    fingerprint = 'fp-other',
    leaseUntil: string | null = LATER,
  ) =>
    other
      .prepare(
        `INSERT INTO idempotency_keys (caller, idempotency_key, fingerprint, state, created_at, expires_at, owner, lease_until)
         VALUES ('alice', 'k-1', ?, ?, ?, ?, 'them', ?)`,
      )
      .run(fingerprint, state, NOW, expiresAt, leaseUntil);
  const release = () => other.prepare(`DELETE FROM idempotency_keys WHERE idempotency_key = 'k-1'`).run();
  const rows = () => other.prepare('SELECT caller, idempotency_key, fingerprint, state FROM idempotency_keys').all();

  /** Runs `action` just before each statement of `kind` sent through the database (better-sqlite3 is synchronous). */
  function justBefore(
    kind: 'InsertQueryNode' | 'SelectQueryNode' | 'UpdateQueryNode',
    action: () => void,
  ): KyselyPlugin {
    return {
      transformQuery(args) {
        if (args.node.kind === kind) action();
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
  }

  it('a free key is claimed: one row, in progress, with our fingerprint', async () => {
    expect(await claimKey(await database(), clock, claim)).toEqual({ state: 'claimed', members: {} });
    expect(rows()).toEqual([{ caller: 'alice', idempotency_key: 'k-1', fingerprint: 'fp-1', state: 'in_progress' }]);
  });

  it('a key that expires exactly now is free', async () => {
    hold('done', NOW);
    expect(await claimKey(await database(), clock, claim)).toEqual({ state: 'claimed', members: {} });
    expect(await claimKey(await database(), clock, claim)).toEqual({ state: 'in_progress' });
  });

  it('a key released between our conflict and our read is free again: the next attempt claims it', async () => {
    hold();
    let released = false;
    const db = await database(
      justBefore('SelectQueryNode', () => {
        if (!released) release();
        released = true;
      }),
    );
    expect(await claimKey(db, clock, claim)).toEqual({ state: 'claimed', members: {} });
    expect(rows()).toEqual([expect.objectContaining({ fingerprint: 'fp-1' })]);
  });

  it('a key taken and released again at every attempt: three attempts, then an error rather than a loop', async () => {
    let inserts = 0;
    const db = await database({
      transformQuery(args) {
        if (args.node.kind === 'InsertQueryNode') {
          inserts++;
          hold();
        }
        if (args.node.kind === 'SelectQueryNode') release();
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    await expect(claimKey(db, clock, claim)).rejects.toThrow(
      'idempotency key claim kept racing with its release (3 attempts)',
    );
    expect(inserts).toBe(3);
  });

  it('a key another request holds: in progress with the same fingerprint, a mismatch with another', async () => {
    hold('in_progress', LATER, 'fp-1');
    expect(await claimKey(await database(), clock, claim)).toEqual({ state: 'in_progress' });
    expect(await claimKey(await database(), clock, { ...claim, fingerprint: 'fp-2' })).toEqual({ state: 'mismatch' });
  });

  it('a claim whose lease has ended (its request died) is taken over, with its final fleet members', async () => {
    hold('in_progress', LATER, 'fp-1', NOW);
    other
      .prepare(`UPDATE idempotency_keys SET members = ?`)
      .run(JSON.stringify({ 'vc-a': { result: '{}', entryId: 'e-1' } }));
    expect(await claimKey(await database(), clock, claim)).toEqual({
      state: 'claimed',
      members: { 'vc-a': { result: '{}', entryId: 'e-1' } },
    });
    expect(other.prepare('SELECT owner, lease_until FROM idempotency_keys').get()).toEqual({
      owner: 'me',
      lease_until: '2026-03-10T08:01:00.000Z',
    });
    // Now ours, and live: the next claim finds it in progress.
    expect(await claimKey(await database(), clock, { ...claim, owner: 'another' })).toEqual({ state: 'in_progress' });
  });

  it('a claim whose lease has ended with its members unreadable is taken over as one with no final members', async () => {
    hold('in_progress', LATER, 'fp-1', NOW);
    other.prepare(`UPDATE idempotency_keys SET members = '{"vc-a": {"res'`).run();
    expect(await claimKey(await database(), clock, claim)).toEqual({ state: 'claimed', members: {} });
  });

  /** A fleet member's final answer, settled on k-1. */
  const memberSettlement = {
    caller: 'alice',
    key: 'k-1',
    member: 'vc-a',
    memberResult: '{"status":202}',
    entryId: 'e-9',
  };
  const members = () =>
    (other.prepare('SELECT members FROM idempotency_keys').get() as { members: string | null }).members;

  it("a fleet member's answer is added to the key in progress", async () => {
    hold('in_progress', LATER, 'fp-1');
    expect(await completeKey(await database(), memberSettlement)).toBe(true);
    expect(JSON.parse(members() ?? 'null')).toEqual({ 'vc-a': { result: '{"status":202}', entryId: 'e-9' } });
  });

  it("a fleet member's answer on a key that is done or gone changes nothing, and says so", async () => {
    hold('done', LATER, 'fp-1');
    expect(await completeKey(await database(), memberSettlement)).toBe(false);
    expect(members()).toBeNull();
    release();
    expect(await completeKey(await database(), memberSettlement)).toBe(false);
    expect(rows()).toEqual([]);
  });

  it("a fleet member's answer on a key settled between its read and its write changes nothing, and says so", async () => {
    hold('in_progress', LATER, 'fp-1');
    // The whole answer lands first (another process, from its spool): the member's update then matches no row.
    const settledMeanwhile = justBefore('UpdateQueryNode', () =>
      other.prepare(`UPDATE idempotency_keys SET state = 'done'`).run(),
    );
    expect(await completeKey(await database(settledMeanwhile), memberSettlement)).toBe(false);
    expect(members()).toBeNull();
  });

  it('a claim from before leases existed is held for ten minutes from its creation, then taken over', async () => {
    hold('in_progress', LATER, 'fp-1', null);
    expect(await claimKey(await database(), clock, claim)).toEqual({ state: 'in_progress' });
    other.prepare(`UPDATE idempotency_keys SET created_at = '2026-03-10T07:50:00.000Z'`).run();
    expect(await claimKey(await database(), clock, claim)).toEqual({ state: 'claimed', members: {} });
  });

  it("a release frees only the owner's claim; one with final members stays, unowned, for a retry to replay", async () => {
    hold('in_progress', LATER, 'fp-1');
    await releaseKey(await database(), clock, 'alice', 'k-1', 'me');
    expect(rows()).toHaveLength(1);
    await releaseKey(await database(), clock, 'alice', 'k-1', 'them');
    expect(rows()).toHaveLength(0);
    hold('in_progress', LATER, 'fp-1');
    other.prepare(`UPDATE idempotency_keys SET members = '{}'`).run();
    await releaseKey(await database(), clock, 'alice', 'k-1', 'them');
    expect(other.prepare('SELECT owner, lease_until FROM idempotency_keys').get()).toEqual({
      owner: null,
      lease_until: NOW,
    });
  });
});
