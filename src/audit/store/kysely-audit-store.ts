import { type CompiledQuery, type Insertable, Kysely, type Selectable, sql } from 'kysely';
import { type ChainHead, type StretchResult, sealEntry, verifyChain, walkStretch } from '../audit-chain.js';
import type { AuditDraft, AuditEntry, AuditEvent, AuditFilter, AuditOutcome, VerifyResult } from '../audit-entry.js';
import type { ClaimRequest, IdempotencyClaim, KeySettlement } from '../idempotency-keys.js';
import type {
  DeliveryResult,
  FollowedJob,
  OutboxCursor,
  OutboxFilter,
  OutboxMessage,
  OutboxMessageDraft,
  OutboxState,
  OutboxStats,
} from '../outbox.js';
import { type AuditDatabase, type AuditEntriesTable, FINAL_OUTCOME } from './audit-schema.js';
import {
  type AuditPageRequest,
  type AuditStore,
  DraftRejectedError,
  GROUP_COMMIT_MAX,
  type NdjsonPage,
  type PurgeResult,
} from './audit-store.js';
import { KyselyFleetRuns, noTargetLock, postgresTargetLock } from './kysely-fleet-runs.js';
import {
  type Clock,
  claimKey,
  completeKey,
  purgeExpiredKeys,
  releaseKey,
  renewKey,
} from './kysely-idempotency-keys.js';
import {
  claimJobs,
  claimMessages,
  followJob,
  insertMessages,
  listMessages,
  messageStats,
  purgeMessages,
  releaseMessages,
  settleMessage,
  unfollowJob,
} from './kysely-outbox.js';
import { nextPurgeBatch, PURGE_BATCH_FIRST, PURGE_BATCH_MAX } from './purge-pace.js';

/**
 * An entry's columns, in the order entries are read: as arrays of column values (readColumns), which neither driver
 * builds an object for. better-sqlite3 building a 26-member object per row was 7 of the ~11 µs it took to read an
 * entry; verification and the export read every entry of the trail (bench/README.md, "Entries read as arrays").
 */
const ENTRY_COLUMNS = [
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
] as const;

/** A row read as the values of `Columns`, each typed as its column. */
type ColumnValues<Columns extends readonly (keyof AuditEntriesTable)[]> = {
  -readonly [I in keyof Columns]: Columns[I] extends keyof AuditEntriesTable
    ? Selectable<AuditEntriesTable>[Columns[I]]
    : never;
};
type EntryColumns = ColumnValues<typeof ENTRY_COLUMNS>;

interface PendingAppend {
  draft: AuditDraft;
  resolve(entry: AuditEntry): void;
  reject(error: unknown): void;
}

/**
 * Everything the two stores share: the queries (kysely compiles them per dialect), the append and purge
 * transactions, row mapping. A dialect supplies the connection, the migrations and how a write transaction
 * takes the chain lock.
 */
export abstract class KyselyAuditStore implements AuditStore {
  abstract readonly kind: 'sqlite' | 'postgres';
  private db: Kysely<AuditDatabase> | undefined;
  /** The most rows deleted per purge transaction (a property so that tests can exercise several batches). */
  purgeBatch = PURGE_BATCH_MAX;
  readonly exportPageSize: number = 500;
  /** In-process serialisation of writes: one append batch or purge step at a time per store, in call order. */
  private writes: Promise<unknown> = Promise.resolve();
  /** Appends waiting for the next group commit. */
  private readonly pending: PendingAppend[] = [];
  private flushScheduled = false;
  /** Set by close(): a purge under way stops before its next batch instead of failing on a closed connection. */
  private closing = false;

  /** A connected Kysely instance (pool or database file opened, pragmas set). */
  protected abstract connect(): Promise<Kysely<AuditDatabase>>;
  /**
   * Runs a query kysely compiled and gives its rows as arrays of column values, in its select list's order, through
   * the driver's own array mode (better-sqlite3's `raw()`, pg's `rowMode: 'array'`), which kysely does not offer.
   * Outside transactions only.
   */
  protected abstract readColumns(db: Kysely<AuditDatabase>, query: CompiledQuery): Promise<unknown[][]>;
  /** Schema migrations, before the store is used. */
  protected abstract migrate(db: Kysely<AuditDatabase>): Promise<void>;
  /**
   * Runs `work` in a transaction that holds the chain's write lock from its first statement to its commit, so
   * writers in other processes wait instead of forking the chain.
   */
  protected abstract inWriteTransaction<T>(
    db: Kysely<AuditDatabase>,
    work: (trx: Kysely<AuditDatabase>) => Promise<T>,
  ): Promise<T>;

  /**
   * Whether the database refused a write for a reason no retry can fix (a value it cannot hold, a constraint), as
   * opposed to a lock, a lost connection or a timeout.
   */
  protected abstract rejectsForGood(error: unknown): boolean;

  /** The database's clock (idempotency-key expiry and leases): replicas agree on it whatever their own clocks say. */
  protected abstract readonly clock: Clock;

  /** PostgreSQL: the head row lock (SELECT ... FOR UPDATE) is the chain lock. SQLite locks the whole database. */
  protected readonly headRowLock: boolean = false;
  /** A walk asks for its next page before checking this one (walkStretch's `ahead`): a server reads it meanwhile. */
  protected readonly walksAhead: boolean = false;

  /** In the same database, with the same write transactions and clock; PostgreSQL locks a target while counting it. */
  readonly fleetRuns = new KyselyFleetRuns({
    db: () => this.connected(),
    write: (work) => this.inWriteTransaction(this.connected(), work),
    clock: (offsetMs) => this.clock(offsetMs),
    lock: (trx, target) => (this.headRowLock ? postgresTargetLock : noTargetLock)(trx, target),
  });

  private async lockHead(trx: Kysely<AuditDatabase>): Promise<ChainHead> {
    let query = trx.selectFrom('audit_chain_head').selectAll().where('id', '=', 1);
    if (this.headRowLock) query = query.forUpdate();
    return toHead(await query.executeTakeFirstOrThrow());
  }

  async open(): Promise<void> {
    if (this.db) return;
    this.closing = false;
    const db = await this.connect();
    try {
      await this.migrate(db);
    } catch (error) {
      await db.destroy().catch(() => undefined);
      throw error;
    }
    this.db = db;
  }

  async close(): Promise<void> {
    const db = this.db;
    if (!db) return;
    this.closing = true;
    await this.appendsCommitted();
    this.db = undefined;
    await db.destroy();
  }

  /**
   * Group commit: appends waiting at the same moment share one transaction (and one fsync), each caller still
   * resolving only once its entry is committed. The batch is cut on the next event-loop turn rather than at once,
   * so that every request read in the same I/O phase joins it: with better-sqlite3, which commits synchronously,
   * flushing immediately would write one entry per commit however busy the gateway is.
   */
  append(draft: AuditDraft): Promise<AuditEntry> {
    return new Promise<AuditEntry>((resolve, reject) => {
      this.pending.push({ draft, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.serialise(() => this.flushPending()));
  }

  private async flushPending(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pending.splice(0, GROUP_COMMIT_MAX);
    if (this.pending.length > 0) this.scheduleFlush();
    if (batch.length === 0) return;
    try {
      await this.commit(batch);
    } catch (error) {
      if (batch.length === 1 || !this.rejectsForGood(error)) {
        for (const waiting of batch) waiting.reject(this.rejection(waiting.draft, error));
        return;
      }
      // One draft the database refuses must not take the others with it: each alone, still in order.
      for (const waiting of batch) {
        await this.commit([waiting]).catch((alone: unknown) => waiting.reject(this.rejection(waiting.draft, alone)));
      }
    }
  }

  /** One transaction for the batch; settles each caller, or throws when the transaction failed. */
  private async commit(batch: PendingAppend[]): Promise<void> {
    const entries = await this.inWriteTransaction(this.connected(), (trx) =>
      this.appendAll(
        trx,
        batch.map((waiting) => waiting.draft),
      ),
    );
    batch.forEach((waiting, i) => {
      const entry = entries[i];
      if (entry instanceof Error) waiting.reject(entry);
      else waiting.resolve(entry as AuditEntry);
    });
  }

  private rejection(draft: AuditDraft, error: unknown): unknown {
    if (!this.rejectsForGood(error)) return error;
    const { code, message } = error as { code?: unknown; message?: unknown };
    return new DraftRejectedError(draft.id, String(message ?? error), code === undefined ? undefined : String(code));
  }

  /**
   * Seals the drafts after the head, in order, and writes them with one multi-row insert. A draft that cannot be
   * sealed (a value with no canonical form) fails alone, as a DraftRejectedError in its place; the others are written.
   */
  private async appendAll(trx: Kysely<AuditDatabase>, drafts: AuditDraft[]): Promise<(AuditEntry | Error)[]> {
    // Read afresh in this transaction, so advanced in place as entries are sealed (see sealEntry on why not a spread).
    const head = await this.lockHead(trx);
    // Idempotent by id: a retry after a commit whose acknowledgement was lost must not write the entry twice.
    // Rare (a retried batch), and in the transaction: read as objects by kysely, mapped as the other reads are.
    const stored = await trx
      .selectFrom('audit_entries')
      .select(ENTRY_COLUMNS)
      .where(
        'id',
        'in',
        drafts.map((draft) => draft.id),
      )
      .execute();
    const byId = new Map<string, AuditEntry>(
      stored.map((row) => [row.id, fromColumns(ENTRY_COLUMNS.map((column) => row[column]) as unknown as EntryColumns)]),
    );
    const fresh: AuditEntry[] = [];
    const entries = drafts.map((draft) => {
      const known = byId.get(draft.id);
      if (known) return known;
      let entry: AuditEntry;
      try {
        entry = sealEntry(draft, { seq: head.lastSeq, hash: head.lastHash });
      } catch (error) {
        return new DraftRejectedError(draft.id, error instanceof Error ? error.message : String(error));
      }
      head.lastSeq = entry.seq;
      head.lastId = entry.id;
      head.lastHash = entry.hash;
      byId.set(entry.id, entry);
      fresh.push(entry);
      return entry;
    });
    if (fresh.length > 0) {
      await trx.insertInto('audit_entries').values(fresh.map(toRow)).execute();
      await settleFinalOutcomes(trx, fresh);
      await trx
        .updateTable('audit_chain_head')
        .set({ last_seq: head.lastSeq, last_id: head.lastId, last_hash: head.lastHash })
        .where('id', '=', 1)
        .execute();
    }
    // The key's answer commits with the entry recording it (again, harmlessly, when a spooled draft is retried).
    for (const [i, draft] of drafts.entries()) {
      if (draft.settles && !(entries[i] instanceof Error)) await completeKey(trx, draft.settles);
    }
    // So do the notifications the entry raises, and the job it starts following (again harmlessly on a retry).
    for (const [i, draft] of drafts.entries()) {
      if (!draft.outbox || entries[i] instanceof Error) continue;
      await insertMessages(trx, this.clock, draft.outbox.messages);
      if (draft.outbox.follow) await followJob(trx, this.clock, draft.outbox.follow);
    }
    return entries;
  }

  async query(filter: AuditFilter, page: AuditPageRequest): Promise<AuditEvent[]> {
    if (filter.appliances?.length === 0) return [];
    const db = this.connected();
    let query = db
      .selectFrom('audit_entries as e')
      .select(ENTRY_COLUMNS)
      .select(sql<string>`COALESCE(e.final_outcome, ${FINAL_OUTCOME})`.as('outcome_so_far'));
    if (filter.appliance !== undefined) query = query.where('e.appliance', '=', filter.appliance);
    if (filter.appliances !== undefined) query = query.where('e.appliance', 'in', [...filter.appliances]);
    if (filter.actor !== undefined) query = query.where('e.actor_subject', '=', filter.actor);
    if (filter.schedule !== undefined) query = query.where('e.schedule', '=', filter.schedule);
    if (filter.stage !== undefined) query = query.where('e.stage', '=', filter.stage);
    if (filter.requestId !== undefined) query = query.where('e.request_id', '=', filter.requestId);
    if (filter.since !== undefined) query = query.where('e.time', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('e.time', '<', filter.until);
    const outcome = filter.outcome;
    if (outcome !== undefined) query = query.where('e.final_outcome', '=', outcome);
    const before = page.before;
    if (before !== undefined) {
      // Entries older than `before` in (time, seq) order, as a row-value comparison: both stores read it as one bound
      // on the (…, time, seq) indexes. The form before it (time <= t AND (time < t OR seq < s)) left PostgreSQL to
      // estimate the OR on its own, and near the trail's oldest entries it took the page for a few dozen rows and
      // read every older entry of the appliance, then sorted them (12–24 ms a page at 10M, against 0.2–1 ms;
      // bench/README.md). A position without its time (a first-form cursor) takes its entry's own time.
      query = query.where((eb) => {
        const time =
          before.time ?? eb.selectFrom('audit_entries as p').select('p.time').where('p.seq', '=', before.seq);
        return eb(eb.refTuple('e.time', 'e.seq'), '<', eb.tuple(time, before.seq));
      });
    }
    const rows = await this.readColumns(
      db,
      query.orderBy('e.time', 'desc').orderBy('e.seq', 'desc').limit(page.limit).compile(),
    );
    // finalOutcome added to the entry read, not spread into a copy of it: the export reads every entry this way.
    return rows.map((row) =>
      Object.assign(fromColumns(row as unknown as EntryColumns), {
        finalOutcome: row[ENTRY_COLUMNS.length] as AuditOutcome,
      }),
    );
  }

  async queryNdjson(filter: AuditFilter, page: AuditPageRequest): Promise<NdjsonPage> {
    const events = await this.query(filter, page);
    let text = '';
    for (const event of events) text += `${JSON.stringify(event)}\n`;
    const last = events.at(-1);
    return { ndjson: text, count: events.length, last: last && { seq: last.seq, time: last.time } };
  }

  verify(): Promise<VerifyResult> {
    return verifyChain(this, [(afterSeq, upToSeq) => this.verifyStretch(afterSeq, upToSeq)]);
  }

  /** One stretch of a verification (walkStretch), read on this store's connection: a thread's part of verifyChain. */
  verifyStretch(afterSeq: number, upToSeq: number): Promise<StretchResult> {
    return walkStretch(this, afterSeq, upToSeq, { ahead: this.walksAhead });
  }

  async head(): Promise<ChainHead> {
    const row = await this.connected()
      .selectFrom('audit_chain_head')
      .selectAll()
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return toHead(row);
  }

  async entriesBetween(afterSeq: number, upToSeq: number, limit: number): Promise<AuditEntry[]> {
    const db = this.connected();
    const query = db
      .selectFrom('audit_entries')
      .select(ENTRY_COLUMNS)
      .where('seq', '>', afterSeq)
      .where('seq', '<=', upToSeq)
      .orderBy('seq', 'asc')
      .limit(limit);
    return (await this.readColumns(db, query.compile())).map((row) => fromColumns(row as unknown as EntryColumns));
  }

  async purgeBefore(cutoff: string): Promise<PurgeResult> {
    let deleted = 0;
    let batch = Math.min(PURGE_BATCH_FIRST, this.purgeBatch);
    for (;;) {
      const size = batch;
      // Timed from inside the queue: how long the batch held the lock, not how long it waited for its turn.
      const step = await this.serialise(async () => {
        const start = performance.now();
        const done = await this.purgeBatchBefore(cutoff, size);
        return { ...done, heldMs: performance.now() - start };
      });
      deleted += step.deleted;
      const result: PurgeResult = { deleted, anchorSeq: step.anchorSeq, anchorHash: step.anchorHash };
      if (!step.more) return result;
      batch = nextPurgeBatch(size, step.heldMs, this.purgeBatch);
      // Appends asked for during this batch go before the next one: a run waits for the batch under way, never for
      // the next one too (bench/README.md, "Retention purge"). Two turns: one for them to be asked for, one for their
      // group commit; appends that keep coming after that wait for one batch, so a steady stream cannot stall the
      // purge for as long as it lasts.
      await this.appendsCommitted(2);
      if (this.closing) return { ...result, interrupted: true };
    }
  }

  /**
   * Resolves once every append asked for until now is committed, or after `turns` turns of the event loop. A turn
   * first lets the appends on their way be asked for (a request here, a message to the SQLite worker's thread):
   * better-sqlite3 answers synchronously, so a loop of writes without that turn runs in microtasks and holds every
   * append until it ends. Then their group commit, which is cut on a turn of its own.
   */
  private async appendsCommitted(turns = Number.POSITIVE_INFINITY): Promise<void> {
    for (let turn = 0; turn < turns; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.writes;
      if (!this.flushScheduled) return;
    }
  }

  /** One purge transaction: up to `size` of the oldest entries, if older than the cutoff, and the anchor after them. */
  private purgeBatchBefore(
    cutoff: string,
    size: number,
  ): Promise<{ deleted: number; more: boolean; anchorSeq: number; anchorHash: string }> {
    return this.inWriteTransaction(this.connected(), async (trx) => {
      const head = await this.lockHead(trx);
      const oldest = await trx
        .selectFrom('audit_entries')
        .select(['seq', 'time', 'hash'])
        .where('seq', '>', head.anchorSeq)
        .orderBy('seq', 'asc')
        .limit(size)
        .execute();
      // Only a prefix of the chain may go, or it would no longer verify: stop at the first entry to keep,
      // even if some later one is older (a retried write keeps its original time).
      const keep = oldest.findIndex((row) => row.time >= cutoff);
      const last = oldest[(keep === -1 ? oldest.length : keep) - 1];
      if (!last) return { deleted: 0, more: false, anchorSeq: head.anchorSeq, anchorHash: head.anchorHash };
      const anchorSeq = Number(last.seq);
      // Bounded below too: the index scan starts at this batch, not at entries earlier batches deleted (which
      // PostgreSQL keeps as dead rows until a vacuum, and would walk again batch after batch).
      const result = await trx
        .deleteFrom('audit_entries')
        .where('seq', '>', head.anchorSeq)
        .where('seq', '<=', anchorSeq)
        .executeTakeFirst();
      await trx
        .updateTable('audit_chain_head')
        .set({ anchor_seq: anchorSeq, anchor_hash: last.hash })
        .where('id', '=', 1)
        .execute();
      const more = keep === -1 && oldest.length === size;
      return { deleted: Number(result.numDeletedRows), more, anchorSeq, anchorHash: last.hash };
    });
  }

  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.connected());
  }

  claimIdempotencyKey(claim: ClaimRequest): Promise<IdempotencyClaim> {
    return this.inWriteTransaction(this.connected(), (trx) => claimKey(trx, this.clock, claim));
  }

  completeIdempotencyKey(settlement: KeySettlement): Promise<boolean> {
    return this.inWriteTransaction(this.connected(), (trx) => completeKey(trx, settlement));
  }

  releaseIdempotencyKey(caller: string, key: string, owner: string): Promise<void> {
    return this.inWriteTransaction(this.connected(), (trx) => releaseKey(trx, this.clock, caller, key, owner));
  }

  renewIdempotencyKey(caller: string, key: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.inWriteTransaction(this.connected(), (trx) => renewKey(trx, this.clock, caller, key, owner, leaseMs));
  }

  purgeExpiredIdempotencyKeys(): Promise<number> {
    return purgeExpiredKeys(this.connected(), this.clock);
  }

  enqueueNotifications(messages: OutboxMessageDraft[], unfollow?: { appliance: string; jobId: string }): Promise<void> {
    return this.inWriteTransaction(this.connected(), async (trx) => {
      await insertMessages(trx, this.clock, messages);
      if (unfollow) await unfollowJob(trx, unfollow);
    });
  }

  claimNotifications(
    owner: string,
    limit: number,
    leaseMs: number,
    skip?: readonly string[],
  ): Promise<OutboxMessage[]> {
    return this.inWriteTransaction(this.connected(), (trx) =>
      claimMessages(trx, this.clock, this.headRowLock, owner, limit, leaseMs, skip),
    );
  }

  settleNotification(id: string, owner: string, result: DeliveryResult): Promise<OutboxState | null> {
    return this.inWriteTransaction(this.connected(), (trx) => settleMessage(trx, this.clock, id, owner, result));
  }

  releaseNotifications(owner: string, ids: string[]): Promise<void> {
    return this.inWriteTransaction(this.connected(), (trx) => releaseMessages(trx, owner, ids));
  }

  async purgeNotificationsBefore(cutoff: string): Promise<number> {
    let deleted = 0;
    let batch = Math.min(PURGE_BATCH_FIRST, this.purgeBatch);
    for (;;) {
      // Batches sized by the time they hold the write lock, as the entries purge's (purge-pace.ts), the event loop let
      // go between them: a year of messages deleted at once would hold it against every run's entries.
      const size = batch;
      const start = performance.now();
      const done = await this.inWriteTransaction(this.connected(), (trx) => purgeMessages(trx, cutoff, size));
      deleted += done;
      if (done < size || this.closing) return deleted;
      batch = nextPurgeBatch(size, performance.now() - start, this.purgeBatch);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  listNotifications(filter: OutboxFilter, page: { limit: number; before?: OutboxCursor }): Promise<OutboxMessage[]> {
    return listMessages(this.connected(), filter, page);
  }

  notificationStats(): Promise<OutboxStats> {
    return messageStats(this.connected(), this.clock);
  }

  claimFollowedJobs(owner: string, limit: number, leaseMs: number): Promise<FollowedJob[]> {
    return this.inWriteTransaction(this.connected(), (trx) =>
      claimJobs(trx, this.clock, this.headRowLock, owner, limit, leaseMs),
    );
  }

  private connected(): Kysely<AuditDatabase> {
    if (!this.db) throw new Error(`the ${this.kind} audit store is not open`);
    return this.db;
  }

  private serialise<T>(work: () => Promise<T>): Promise<T> {
    const result = this.writes.then(work, work);
    this.writes = result.catch(() => undefined);
    return result;
  }
}

/**
 * Gives the `requested` entries among `fresh`, and those the completions among `fresh` name, the final outcome their
 * first completion says (FINAL_OUTCOME), in the transaction that writes them. Only entries that have a completion
 * are written to: a fresh `requested` entry has none, except one written after its completion (late, from the spool).
 */
async function settleFinalOutcomes(trx: Kysely<AuditDatabase>, fresh: AuditEntry[]): Promise<void> {
  const ids = fresh.map((entry) => (entry.stage === 'completed' ? entry.requestedId : entry.id));
  const requested = [...new Set(ids.filter((id): id is string => id !== null))];
  if (requested.length === 0) return;
  await trx
    .updateTable('audit_entries as e')
    .set({ final_outcome: FINAL_OUTCOME })
    .where('e.id', 'in', requested)
    .where('e.stage', '=', 'requested')
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('audit_entries as c').select('c.seq').whereRef('c.requested_id', '=', 'e.id')),
    )
    .execute();
}

function toHead(row: Selectable<AuditDatabase['audit_chain_head']>): ChainHead {
  return {
    lastSeq: Number(row.last_seq),
    lastId: row.last_id,
    lastHash: row.last_hash,
    anchorSeq: Number(row.anchor_seq),
    anchorHash: row.anchor_hash,
  };
}

function toRow(entry: AuditEntry): Insertable<AuditEntriesTable> {
  return {
    seq: entry.seq,
    id: entry.id,
    time: entry.time,
    stage: entry.stage,
    request_id: entry.requestId,
    action: entry.action,
    actor_subject: entry.actor.subject,
    actor_name: entry.actor.name,
    actor_client_id: entry.actor.clientId,
    actor_auth_method: entry.actor.authMethod,
    actor_ip: entry.actor.ip,
    actor_user_agent: entry.actor.userAgent,
    appliance: entry.appliance,
    schedule: entry.schedule,
    comment: entry.comment,
    outcome: entry.outcome,
    http_status: entry.httpStatus,
    code: entry.code,
    job_id: entry.jobId,
    duration_ms: entry.durationMs,
    fleet_request_id: entry.fleetRequestId,
    requested_id: entry.requestedId,
    replay_of: entry.replayOf,
    count: entry.count,
    prev_hash: entry.prevHash,
    hash: entry.hash,
    // As written: a requested entry's becomes its completion's when that is written (settleFinalOutcomes).
    final_outcome: entry.stage === 'completed' ? entry.outcome : 'unknown',
  };
}

/** Rows are read back as stored; no normalising beyond int8, or a tampered value could be "repaired" into a match. */
function fromColumns(row: EntryColumns): AuditEntry {
  // In ENTRY_COLUMNS' order; the tuple type checks each name against its column's type.
  const [
    seq,
    id,
    time,
    stage,
    requestId,
    action,
    subject,
    name,
    clientId,
    authMethod,
    ip,
    userAgent,
    appliance,
    schedule,
    comment,
    outcome,
    httpStatus,
    code,
    jobId,
    durationMs,
    fleetRequestId,
    requestedId,
    replayOf,
    count,
    prevHash,
    hash,
  ] = row;
  return {
    seq: Number(seq),
    id,
    time,
    stage: stage as AuditEntry['stage'],
    requestId,
    action: action as AuditEntry['action'],
    actor: { subject, name, clientId, authMethod: authMethod as AuditEntry['actor']['authMethod'], ip, userAgent },
    appliance,
    schedule,
    comment,
    outcome: outcome as AuditOutcome | null,
    httpStatus,
    code,
    jobId,
    durationMs,
    fleetRequestId,
    requestedId,
    replayOf: replayOf ?? null,
    count: count ?? null,
    prevHash,
    hash,
  };
}
