import { jest } from '@jest/globals';
/**
 * The one behavioural suite every audit store must pass, run against SQLite and PostgreSQL alike.
 */
import {
  entryHash,
  GENESIS_HASH,
  type StretchVerifier,
  verifyChain,
  walkStretch,
} from '../../src/audit/audit-chain.js';
import type { AuditDraft, AuditEntry, AuditFilter } from '../../src/audit/audit-entry.js';
import type { ClaimRequest, StoredResponse } from '../../src/audit/idempotency-keys.js';
import { type AuditPosition, DraftRejectedError, type PurgeResult } from '../../src/audit/store/audit-store.js';
import { completion, DAY_MS, daysAgo, draft } from './drafts.js';
import { itOnBuiltCode } from './mutation-run.js';
import type { FixtureFactory, StoreFixture, SuiteStore } from './store-fixtures.js';

export interface SuiteOptions {
  /**
   * Run the tests of writers at the same moment: a rival store racing for the same keys, and several Node processes
   * appending at once (they load the built stores from dist/, so the mutation run skips that one). Two SQLite stores
   * on one thread cannot race (better-sqlite3 waits for a lock synchronously, blocking the holder too): the suite from
   * the sources leaves these to the worker suite, whose rival has a thread of its own.
   */
  concurrent: boolean;
  /**
   * The store walks the chain on this thread, where a test can count the pages a walk asks for; the worker's walks
   * run on its threads, out of sight.
   */
  walksHere: boolean;
}

interface Transactional {
  inWriteTransaction(...args: unknown[]): Promise<unknown>;
}

export function describeAuditStore(
  name: string,
  makeFixture: FixtureFactory,
  { concurrent, walksHere }: SuiteOptions,
): void {
  describe(name, () => {
    let fixture: StoreFixture;
    let store: SuiteStore;

    beforeEach(async () => {
      fixture = await makeFixture();
      store = fixture.newStore();
      await store.open();
    });
    afterEach(async () => {
      await store.close();
      await fixture.dispose();
    });

    /**
     * A purge of the entries older than 7 days, and a run's append asked for on the next event-loop turn (as a request,
     * or a message to the worker's thread, is): which of the two ended first, and what each gave.
     */
    async function appendDuringPurge(): Promise<{ order: string[]; purged: PurgeResult; entry: AuditEntry }> {
      const order: string[] = [];
      const purge = store.purgeBefore(daysAgo(7)).then((result) => {
        order.push('purge');
        return result;
      });
      const appended = new Promise<AuditEntry>((resolve, reject) =>
        setImmediate(() =>
          store.append(draft({ comment: 'during the purge' })).then((entry) => {
            order.push('append');
            resolve(entry);
          }, reject),
        ),
      );
      const [purged, entry] = await Promise.all([purge, appended]);
      return { order, purged, entry };
    }

    async function appendAll(drafts: AuditDraft[]): Promise<AuditEntry[]> {
      const entries: AuditEntry[] = [];
      for (const d of drafts) entries.push(await store.append(d));
      return entries;
    }

    it('appends a linear chain that verifies, and reopens (migrations are idempotent)', async () => {
      const entries = await appendAll([draft(), draft({ comment: 'before the 8.0.3 upgrade' }), draft()]);
      expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(entries[0].prevHash).toBe(GENESIS_HASH);
      expect(entries[1].prevHash).toBe(entries[0].hash);
      expect(entries[2].prevHash).toBe(entries[1].hash);
      expect(await store.head()).toEqual({
        lastSeq: 3,
        lastId: entries[2].id,
        lastHash: entries[2].hash,
        anchorSeq: 0,
        anchorHash: GENESIS_HASH,
      });
      await store.close();
      store = fixture.newStore();
      await store.open();
      expect(await verify(store)).toEqual({ ok: true, count: 3 });
      // The store's own walk and one over its ChainSource interface agree, in one stretch and in two, with pages
      // asked for ahead or not.
      for (const ahead of [false, true]) {
        const stretch = (afterSeq: number, upToSeq: number) => walkStretch(store, afterSeq, upToSeq, { ahead });
        expect(await verifyChain(store, [stretch])).toEqual({ ok: true, count: 3 });
        expect(await verifyChain(store, [stretch, stretch])).toEqual({ ok: true, count: 3 });
      }
      // Read back byte for byte: what was hashed is what is stored.
      const [latest] = await store.query({}, { limit: 1 });
      expect(latest).toEqual({ ...entries[2], finalOutcome: 'unknown' });
    });

    it('commits concurrent appends together in call order; a draft that cannot be sealed fails alone', async () => {
      const drafts = Array.from({ length: 450 }, (_, i) => draft({ comment: `burst ${i}` }));
      const unsealable = draft({ durationMs: 1.5 }); // no canonical form for a non-integer
      const twice = drafts[7];
      // The store's transactions, where the test can see them (not on the worker's thread).
      const transactions =
        'inWriteTransaction' in store ? jest.spyOn(store as unknown as Transactional, 'inWriteTransaction') : undefined;
      const results = await Promise.allSettled([...drafts, unsealable, twice].map((d) => store.append(d)));
      // 452 appends made in one turn are three group commits (200, 200, 52), not one transaction each.
      if (transactions) expect(transactions.mock.calls).toHaveLength(3);
      const entries = results.slice(0, drafts.length).map((r) => (r as PromiseFulfilledResult<AuditEntry>).value);
      expect(entries.map((e) => e.seq)).toEqual(drafts.map((_, i) => i + 1));
      expect(entries.map((e) => e.comment)).toEqual(drafts.map((d) => d.comment));
      expect(results[drafts.length]).toEqual({ status: 'rejected', reason: expect.any(DraftRejectedError) });
      expect(results[drafts.length + 1]).toEqual({ status: 'fulfilled', value: entries[7] });
      expect(await verify(store)).toEqual({ ok: true, count: drafts.length });
    });

    it('a draft the database refuses for good fails alone (DraftRejectedError); the rest of its batch is written', async () => {
      let refused: AuditDraft;
      if (fixture.kind === 'postgres') {
        refused = draft({ comment: 'U+0000 \u0000 has no place in PostgreSQL text' });
      } else {
        await fixture.sql(`CREATE TRIGGER refuse BEFORE INSERT ON audit_entries WHEN NEW.comment = 'refused'
                           BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END`);
        refused = draft({ comment: 'refused' });
      }
      const drafts = [draft(), draft(), refused, draft()];
      const results = await Promise.allSettled(drafts.map((d) => store.append(d)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      const { reason } = results[2] as PromiseRejectedResult;
      expect(reason).toBeInstanceOf(DraftRejectedError);
      expect(reason).toMatchObject({
        draftId: refused.id,
        code: fixture.kind === 'postgres' ? '22021' : 'SQLITE_CONSTRAINT_TRIGGER',
        message: expect.stringMatching(fixture.kind === 'postgres' ? /0x00/ : /refused by a trigger/),
      });
      // The database's own message, as it gave it: not the error's text with its class name in front.
      expect(reason.message).toMatch(
        new RegExp(
          `^audit entry ${refused.id} cannot be stored: ${fixture.kind === 'postgres' ? 'invalid byte sequence' : 'refused by a trigger$'}`,
        ),
      );
      expect((await store.query({}, { limit: 10 })).map((e) => e.id)).toEqual(
        [drafts[3], drafts[1], drafts[0]].map((d) => d.id),
      );
      expect(await verify(store)).toEqual({ ok: true, count: 3 });
    });

    it('writes an entry once even when the same draft is appended again (a retry after a lost commit ack)', async () => {
      const d = draft();
      const first = await store.append(d);
      const again = await store.append(d);
      expect(again).toEqual(first);
      expect(await verify(store)).toEqual({ ok: true, count: 1 });
    });

    it('an entry edited in the database makes verify report exactly that entry', async () => {
      const entries = await appendAll([1, 2, 3, 4, 5, 6].map(() => draft({ comment: 'routine' })));
      const target = entries[3];
      const edits: [string, string][] = [
        ['appliance', "'vc-other'"],
        ['actor_subject', "'mallory'"],
        ['comment', 'NULL'],
        ['time', `'${daysAgo(3)}'`],
        ['hash', `'${'f'.repeat(64)}'`],
      ];
      for (const [column, value] of edits) {
        await fixture.sql(`UPDATE audit_entries SET ${column} = ${value} WHERE seq = ${target.seq}`);
        expect({ column, result: await verify(store) }).toEqual({
          column,
          result: { ok: false, count: 3, firstBad: { id: target.id, reason: 'hash' } },
        });
        await fixture.sql(restore(column, target));
        expect(await verify(store)).toEqual({ ok: true, count: 6 });
      }
    });

    it('an entry forged in the database with its hash recomputed is caught by the link of the entry after it', async () => {
      const entries = await appendAll([1, 2, 3, 4, 5].map(() => draft({ comment: 'routine' })));
      const target = entries[2];
      const { hash: _original, ...body } = { ...target, comment: 'forged' };
      const forged = entryHash(body);
      await fixture.sql(`UPDATE audit_entries SET comment = 'forged', hash = '${forged}' WHERE seq = ${target.seq}`);
      expect(await verify(store)).toEqual({ ok: false, count: 3, firstBad: { id: entries[3].id, reason: 'link' } });
    });

    (walksHere ? it : it.skip)(
      'a walk asks for its next page before checking this one on PostgreSQL (its server reads it meanwhile), not on SQLite',
      async () => {
        const entries = await Promise.all(
          Array.from({ length: 1001 }, () => store.append(draft({ comment: 'routine' }))),
        );
        await fixture.sql(`UPDATE audit_entries SET comment = 'edited' WHERE seq = ${entries[0].seq}`);
        const pages = jest.spyOn(
          store as unknown as { entriesBetween: (...args: unknown[]) => unknown },
          'entriesBetween',
        );
        const walked = await (store as unknown as { verifyStretch: StretchVerifier }).verifyStretch(0, 1001);
        expect(walked.firstBad).toEqual({ id: entries[0].id, reason: 'hash' });
        expect(pages.mock.calls.map(([afterSeq]) => afterSeq)).toEqual(fixture.kind === 'postgres' ? [0, 1000] : [0]);
      },
    );

    it('a deleted entry shows as a broken link on the next one; a deleted last entry on the id the head names', async () => {
      const entries = await appendAll([1, 2, 3, 4, 5].map(() => draft()));
      await fixture.sql('DELETE FROM audit_entries WHERE seq = 5');
      expect(await verify(store)).toEqual({ ok: false, count: 4, firstBad: { id: entries[4].id, reason: 'link' } });
      await fixture.sql('DELETE FROM audit_entries WHERE seq = 2');
      expect(await verify(store)).toEqual({ ok: false, count: 1, firstBad: { id: entries[2].id, reason: 'link' } });
    });

    it('pagination returns every entry exactly once while new entries keep arriving', async () => {
      await appendAll(Array.from({ length: 40 }, () => draft()));
      let writing = true;
      let appendedMeanwhile = 0;
      const writer = (async () => {
        while (writing) {
          await store.append(draft({ comment: 'arrived during paging' }));
          appendedMeanwhile++;
          // better-sqlite3 answers synchronously: without a macrotask turn this loop would starve the reader's timers.
          await new Promise((r) => setImmediate(r));
        }
      })();
      const seen: number[] = [];
      let before: AuditPosition | undefined;
      let newestAtStart: number | undefined;
      do {
        const page = await store.query({}, { limit: 7, before });
        newestAtStart ??= page[0].seq;
        seen.push(...page.map((e) => e.seq));
        before = page.length === 7 ? { seq: page[6].seq, time: page[6].time } : undefined;
        await new Promise((r) => setTimeout(r, 2));
      } while (before !== undefined);
      writing = false;
      await writer;
      expect(appendedMeanwhile).toBeGreaterThan(0);
      expect(newestAtStart).toBeGreaterThanOrEqual(40);
      expect(seen).toEqual(Array.from({ length: newestAtStart as number }, (_, i) => (newestAtStart as number) - i));
      expect(await verify(store)).toEqual({ ok: true, count: 40 + appendedMeanwhile });
    });

    it('lists newest first by when entries happened, ties by seq: an entry written late from the spool takes its place', async () => {
      const at = (minute: number) => `2026-03-10T08:${String(minute).padStart(2, '0')}:00.000Z`;
      const [first, , late] = await appendAll([
        draft({ time: at(1) }),
        draft({ time: at(3) }),
        // Spooled while the store was away, written after the entry above: it keeps the time it happened.
        draft({ time: at(2) }),
        draft({ time: at(3) }),
        draft({ time: at(3), appliance: 'vc-b' }),
      ]);
      const walk = async (filter: AuditFilter, from?: AuditPosition) => {
        const seqs: number[] = [];
        let before = from;
        for (;;) {
          const page = await store.query(filter, { limit: 2, before });
          seqs.push(...page.map((e) => e.seq));
          if (page.length < 2) return seqs;
          before = { seq: page[1].seq, time: page[1].time };
        }
      };
      expect((await store.query({}, { limit: 10 })).map((e) => e.seq)).toEqual([5, 4, 2, 3, 1]);
      // Pages of two: the tie at 08:03 is cut between pages, and nothing is skipped or repeated.
      expect(await walk({})).toEqual([5, 4, 2, 3, 1]);
      expect(await walk({ appliance: 'vc-a' })).toEqual([4, 2, 3, 1]);
      expect(await walk({ appliance: 'vc-a', since: at(2), until: at(4) })).toEqual([4, 2, 3]);
      expect(await walk({ actor: first.actor.subject, since: at(1), until: at(3) })).toEqual([3, 1]);
      // A position of the first cursor form (its seq alone) pages from its entry's own time.
      expect(await walk({}, { seq: 2 })).toEqual([3, 1]);
      expect(await walk({}, { seq: late.seq })).toEqual([1]);
      // ...and pages nothing once that entry is gone (purged: everything older is too).
      expect(await walk({}, { seq: 99 })).toEqual([]);
    });

    it('filters by appliance, actor, schedule, stage, outcome (derived), time and request id', async () => {
      const bob = { ...draft().actor, subject: 'bob' };
      const r1 = draft({ time: '2026-03-09T10:00:00.000Z', requestId: 'req-a' });
      const c1 = completion(r1, { time: '2026-03-09T10:00:01.000Z' });
      const r2 = draft({
        time: '2026-03-10T08:00:00.000Z',
        requestId: 'req-b',
        appliance: 'vc-b',
        schedule: 'nightly',
        actor: bob,
      });
      const r3 = draft({ time: '2026-03-10T09:00:00.000Z', requestId: 'req-c', actor: bob });
      const c3 = completion(r3, {
        time: '2026-03-10T09:00:01.000Z',
        outcome: 'rejected',
        httpStatus: 409,
        code: 'BACKUP_IN_PROGRESS',
        jobId: null,
      });
      const d4 = draft({
        time: '2026-03-10T10:00:00.000Z',
        requestId: 'req-d',
        appliance: 'vc-b',
        stage: 'completed',
        outcome: 'denied',
        httpStatus: 403,
        code: 'FORBIDDEN',
        actor: { ...bob, subject: 'mallory' },
      });
      const r5 = draft({ time: '2026-03-11T07:00:00.000Z', requestId: 'req-e' });
      const c5 = completion(r5, {
        time: '2026-03-11T07:00:10.000Z',
        outcome: 'unknown',
        httpStatus: 504,
        code: 'APPLIANCE_TIMEOUT',
        jobId: null,
      });
      const entries = await appendAll([r1, c1, r2, r3, c3, d4, r5, c5]);
      const ids = async (filter: AuditFilter) => (await store.query(filter, { limit: 100 })).map((e) => e.id);
      const newestFirst = (...drafts: AuditDraft[]) => drafts.map((d) => d.id);

      expect(await ids({})).toEqual(newestFirst(c5, r5, d4, c3, r3, r2, c1, r1));
      expect(await ids({ appliance: 'vc-b' })).toEqual(newestFirst(d4, r2));
      expect(await ids({ appliances: ['vc-b'] })).toEqual(newestFirst(d4, r2));
      // The page itself, not its ids: toEqual takes [undefined] for [].
      expect(await store.query({ appliances: [] }, { limit: 100 })).toStrictEqual([]);
      expect(await ids({ actor: 'bob' })).toEqual(newestFirst(c3, r3, r2));
      expect(await ids({ schedule: 'nightly' })).toEqual(newestFirst(r2));
      expect(await ids({ stage: 'requested' })).toEqual(newestFirst(r5, r3, r2, r1));
      expect(await ids({ requestId: 'req-c' })).toEqual(newestFirst(c3, r3));
      expect(await ids({ outcome: 'accepted' })).toEqual(newestFirst(c1, r1));
      expect(await ids({ outcome: 'unknown' })).toEqual(newestFirst(c5, r5, r2));
      expect(await ids({ outcome: 'denied' })).toEqual(newestFirst(d4));
      expect(await ids({ since: '2026-03-10T00:00:00.000Z', until: '2026-03-10T10:00:00.000Z' })).toEqual(
        newestFirst(c3, r3, r2),
      );
      expect(await ids({ appliance: 'vc-a', stage: 'completed', outcome: 'rejected' })).toEqual(newestFirst(c3));
      expect(await ids({ appliance: 'vc-a', actor: 'bob', outcome: 'accepted' })).toEqual([]);

      const events = await store.query({}, { limit: 100 });
      const finalOutcomes = Object.fromEntries(events.map((e) => [e.id, e.finalOutcome]));
      expect(finalOutcomes).toEqual({
        [r1.id]: 'accepted',
        [c1.id]: 'accepted',
        [r2.id]: 'unknown',
        [r3.id]: 'rejected',
        [c3.id]: 'rejected',
        [d4.id]: 'denied',
        [r5.id]: 'unknown',
        [c5.id]: 'unknown',
      });
      expect(entries).toHaveLength(8);
    });

    it('stores each final outcome: migration 0008 fills it in on an earlier trail, appends keep it, reads derive a missing one', async () => {
      const r1 = draft({ actor: { ...draft().actor, subject: 'carol' } });
      const c1 = completion(r1, { outcome: 'failed', httpStatus: 502, code: 'APPLIANCE_UNAVAILABLE', jobId: null });
      const r2 = draft({ actor: r1.actor });
      const d3 = draft({ actor: r1.actor, stage: 'completed', outcome: 'denied', httpStatus: 403, code: 'FORBIDDEN' });
      await appendAll([r1, c1, r2, d3]);
      const ids = async (filter: AuditFilter) => (await store.query(filter, { limit: 100 })).map((e) => e.id).sort();
      const outcomes = async () =>
        Object.fromEntries((await store.query({ actor: 'carol' }, { limit: 100 })).map((e) => [e.id, e.finalOutcome]));
      const expected = { [r1.id]: 'failed', [c1.id]: 'failed', [r2.id]: 'unknown', [d3.id]: 'denied' };

      // The trail as a version before 0008 left it: no column, no indexes, the migration not applied. Reopened, the
      // migration derives every entry's outcome, and the filter finds them by it.
      await store.close();
      for (const statement of [
        'DROP INDEX audit_entries_actor_outcome_time',
        'DROP INDEX audit_entries_appliance_outcome_time',
        'ALTER TABLE audit_entries DROP COLUMN final_outcome',
        "DELETE FROM audit_migration WHERE name = '0008-final-outcome'",
      ])
        await fixture.sql(statement);
      store = fixture.newStore();
      await store.open();
      expect(await outcomes()).toEqual(expected);
      expect(await ids({ actor: 'carol', outcome: 'failed' })).toEqual([r1.id, c1.id].sort());
      expect(await ids({ appliance: 'vc-a', outcome: 'denied' })).toEqual([d3.id]);

      // Appends keep it: r2 completed now; r4 written after its own completion (late, from the spool).
      const c2 = completion(r2, { outcome: 'accepted' });
      const r4 = draft({ actor: r1.actor });
      const c4 = completion(r4, { outcome: 'rejected', httpStatus: 409, code: 'BACKUP_IN_PROGRESS', jobId: null });
      await appendAll([c2, c4, r4]);
      expect(await ids({ actor: 'carol', outcome: 'accepted' })).toEqual([r2.id, c2.id].sort());
      expect(await ids({ actor: 'carol', outcome: 'rejected' })).toEqual([r4.id, c4.id].sort());
      expect(await ids({ actor: 'carol', outcome: 'unknown' })).toEqual([]);

      // An entry a replica of an earlier version wrote during a rolling upgrade has none: it reads as derived.
      await fixture.sql(`UPDATE audit_entries SET final_outcome = NULL WHERE id IN ('${r1.id}', '${c4.id}')`);
      expect(await outcomes()).toMatchObject({ [r1.id]: 'failed', [c4.id]: 'rejected' });
    });

    it('exports pages as NDJSON: the events query() returns, one JSON line each, in UTF-8', async () => {
      await appendAll([draft({ comment: 'Zoë 😀' }), draft(), draft({ appliance: 'vc-b' })]);
      const page = await store.queryNdjson({ appliance: 'vc-a' }, { limit: 10 });
      const events = await store.query({ appliance: 'vc-a' }, { limit: 10 });
      expect(page.ndjson).toBe(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      expect(page).toMatchObject({ count: 2, last: { seq: 1, time: events[1].time } });
      const none = await store.queryNdjson({ appliance: 'vc-z' }, { limit: 10 });
      expect(none).toEqual({ ndjson: '', count: 0, last: undefined });
    });

    it('the retention purge drops only a prefix of the chain, which keeps verifying from the oldest kept entry', async () => {
      const old = await appendAll([1, 2, 3, 4].map(() => draft({ time: daysAgo(10) })));
      await appendAll([draft({ time: daysAgo(1) }), draft({ time: daysAgo(10) }), draft(), draft()]);
      const purged = await store.purgeBefore(daysAgo(7));
      // The 10-day-old entry after a newer one stays: taking it would cut the chain.
      expect(purged).toEqual({ deleted: 4, anchorSeq: 4, anchorHash: old[3].hash });
      expect(await verify(store)).toEqual({ ok: true, count: 4 });
      // Newest first by time: the 10-day-old entry that stayed comes last.
      expect((await store.query({}, { limit: 100 })).map((e) => e.seq)).toEqual([8, 7, 5, 6]);
      expect(await store.purgeBefore(daysAgo(7))).toMatchObject({ deleted: 0, anchorSeq: 4 });

      await appendAll([draft(), draft()]);
      expect(await verify(store)).toEqual({ ok: true, count: 6 });

      // Everything expired, purged in several batches: the chain continues from the last purged hash.
      store.purgeBatch = 4;
      const everything = await store.purgeBefore(new Date(Date.now() + DAY_MS).toISOString());
      expect(everything).toMatchObject({ deleted: 6, anchorSeq: 10 });
      expect(await verify(store)).toEqual({ ok: true, count: 0 });
      const next = await store.append(draft());
      expect(next).toMatchObject({ seq: 11, prevHash: everything.anchorHash });
      expect(await verify(store)).toEqual({ ok: true, count: 1 });
    });

    it('a long purge lets appends through between its batches (runs are not held up until it ends)', async () => {
      await appendAll(Array.from({ length: 40 }, () => draft({ time: daysAgo(10) })));
      store.purgeBatch = 2; // 20 batches
      const { order, purged, entry } = await appendDuringPurge();
      expect(order).toEqual(['append', 'purge']);
      expect(purged).toMatchObject({ deleted: 40, anchorSeq: 40 });
      expect(entry.seq).toBe(41);
      expect(await verify(store)).toEqual({ ok: true, count: 1 });
    });

    it('a purge starts with a batch of at most 100 rows, whatever the most it allows: a run waits for that one only', async () => {
      // 350 expired entries and the default batch limit (1,000): taken in one batch, they would all go before the
      // append asked for on the next turn. The first batch is timed before a longer one is risked, and each grows at
      // most twofold: 100, then at most 200, so at least three batches, and the append (cut into a group commit on
      // the turn after it is asked for) goes between two of them.
      await appendAll(Array.from({ length: 350 }, () => draft({ time: daysAgo(10) })));
      const { order, purged, entry } = await appendDuringPurge();
      expect(order).toEqual(['append', 'purge']);
      expect(purged).toMatchObject({ deleted: 350, anchorSeq: 350 });
      expect(entry.seq).toBe(351);
      expect(await verify(store)).toEqual({ ok: true, count: 1 });
    });

    it('a purge under way when the store closes stops between two batches, and the next one goes on from there', async () => {
      await appendAll(Array.from({ length: 40 }, () => draft({ time: daysAgo(10) })));
      store.purgeBatch = 2; // 20 batches
      const purge = store.purgeBefore(daysAgo(7));
      await store.close(); // the gateway stopping
      const stopped = await purge;
      expect(stopped).toMatchObject({ interrupted: true });
      expect(stopped.deleted).toBeLessThan(40);
      expect(stopped.anchorSeq).toBe(stopped.deleted);

      store = fixture.newStore();
      await store.open();
      expect(await verify(store)).toEqual({ ok: true, count: 40 - stopped.deleted });
      const rest = await store.purgeBefore(daysAgo(7));
      expect(rest).toEqual({ deleted: 40 - stopped.deleted, anchorSeq: 40, anchorHash: expect.any(String) });
      expect(await verify(store)).toEqual({ ok: true, count: 0 });
    });

    it('the purge keeps an entry written exactly at the cutoff (the cutoff is exclusive)', async () => {
      const cutoff = daysAgo(7);
      await appendAll([draft({ time: daysAgo(8) }), draft({ time: cutoff }), draft()]);
      expect(await store.purgeBefore(cutoff)).toMatchObject({ deleted: 1, anchorSeq: 1 });
    });

    it('after a purge, deleting the oldest kept entry is still detected', async () => {
      const entries = await appendAll([draft({ time: daysAgo(30) }), draft(), draft(), draft()]);
      await store.purgeBefore(daysAgo(7));
      await fixture.sql('DELETE FROM audit_entries WHERE seq = 2');
      expect(await verify(store)).toEqual({ ok: false, count: 0, firstBad: { id: entries[2].id, reason: 'link' } });
    });

    it("writes an entry's notifications with it; one that follows no job leaves the followed jobs as they were", async () => {
      const requested = draft();
      await store.append(requested);
      const message = (id: string) => ({
        id,
        eventId: `event-${id}`,
        webhook: 'portal',
        type: 'com.backupgateway.run.accepted',
        subject: 'vc-a',
        body: '{}',
      });
      await store.append({
        ...completion(requested, { jobId: 'job-1' }),
        outbox: { messages: [message('msg_quiet')] },
      });
      expect((await store.listNotifications({}, { limit: 10 })).map((m) => m.id)).toEqual(['msg_quiet']);
      expect(await store.claimFollowedJobs('replica-0', 10, 60_000)).toEqual([]);
      const followed = draft();
      await store.append(followed);
      await store.append({
        ...completion(followed, { jobId: 'job-2' }),
        outbox: { messages: [message('msg_followed')], follow: { appliance: 'vc-a', jobId: 'job-2', context: '{}' } },
      });
      expect((await store.claimFollowedJobs('replica-0', 10, 60_000)).map((job) => job.jobId)).toEqual(['job-2']);
      expect(await verify(store)).toEqual({ ok: true, count: 4 });
    });

    describe('idempotency keys', () => {
      const claim = (caller: string, key: string, fingerprint: string, more: Partial<ClaimRequest> = {}) =>
        store.claimIdempotencyKey({ caller, key, fingerprint, owner: 'me', ttlMs: DAY_MS, leaseMs: 60_000, ...more });
      const answer: StoredResponse = {
        status: 202,
        headers: {
          location: '/appliances/vc-a/backups/jobs/20260310-081502-00000001',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ appliance: 'vc-a', job: { id: '20260310-081502-00000001', note: 'Zoë 😀' } }),
      };
      const settle = (caller: string, key: string, response: StoredResponse, entryId: string) =>
        store.completeIdempotencyKey({ caller, key, response, entryId });
      const CLAIMED = { state: 'claimed', members: {} };

      it('claims a key once; a retry finds it in progress, then done with the stored answer; another request is a mismatch', async () => {
        expect(await claim('alice', 'k-1', 'fp-1')).toEqual(CLAIMED);
        expect(await claim('alice', 'k-1', 'fp-1', { owner: 'retry' })).toEqual({ state: 'in_progress' });
        expect(await claim('alice', 'k-1', 'fp-2')).toEqual({ state: 'mismatch' });
        // Keys are the caller's own: another caller's k-1 is another key.
        expect(await claim('bob', 'k-1', 'fp-9')).toEqual(CLAIMED);

        expect(await settle('alice', 'k-1', answer, 'entry-1')).toBe(true);
        expect(await claim('alice', 'k-1', 'fp-1')).toEqual({ state: 'done', response: answer, entryId: 'entry-1' });
        expect(await claim('alice', 'k-1', 'fp-2')).toEqual({ state: 'mismatch' });
        // Completing twice, or a key never claimed, changes nothing.
        expect(await settle('alice', 'k-1', { ...answer, status: 500 }, 'entry-2')).toBe(false);
        expect(await settle('alice', 'never', answer, 'entry-3')).toBe(false);
        expect(await claim('alice', 'k-1', 'fp-1')).toMatchObject({ entryId: 'entry-1' });
      });

      it("a released key can be claimed again; only its owner's release counts; a done key is never released", async () => {
        await claim('alice', 'unknown-outcome', 'fp-1');
        await store.releaseIdempotencyKey('alice', 'unknown-outcome', 'someone-else');
        expect(await claim('alice', 'unknown-outcome', 'fp-1', { owner: 'retry' })).toEqual({ state: 'in_progress' });
        await store.releaseIdempotencyKey('alice', 'unknown-outcome', 'me');
        expect(await claim('alice', 'unknown-outcome', 'fp-1', { owner: 'retry' })).toEqual(CLAIMED);

        await claim('alice', 'answered', 'fp-1');
        await settle('alice', 'answered', answer, 'entry-1');
        await store.releaseIdempotencyKey('alice', 'answered', 'me');
        expect(await claim('alice', 'answered', 'fp-1')).toMatchObject({ state: 'done' });
      });

      it('a claim whose lease has ended is taken over by a retry (its request died)', async () => {
        expect(await claim('alice', 'crashed', 'fp-1', { leaseMs: -1000 })).toEqual(CLAIMED);
        expect(await claim('alice', 'crashed', 'fp-1', { owner: 'retry' })).toEqual(CLAIMED);
        // The retry holds it now, for its own lease.
        expect(await claim('alice', 'crashed', 'fp-1', { owner: 'third' })).toEqual({ state: 'in_progress' });
      });

      it('a claim renewed by its owner outlives its first lease; only the owner renews, and only a live claim', async () => {
        // Claims whose lease has already ended (leaseMs < 0): without a renewal a retry would take them over.
        expect(await claim('alice', 'slow-run', 'fp-1', { leaseMs: -1000 })).toEqual(CLAIMED);
        expect(await store.renewIdempotencyKey('alice', 'slow-run', 'me', 60_000)).toBe(true);
        expect(await claim('alice', 'slow-run', 'fp-1', { owner: 'retry' })).toEqual({ state: 'in_progress' });

        expect(await claim('alice', 'dead-run', 'fp-1', { leaseMs: -1000 })).toEqual(CLAIMED);
        expect(await store.renewIdempotencyKey('alice', 'dead-run', 'someone-else', 60_000)).toBe(false);
        expect(await store.renewIdempotencyKey('bob', 'dead-run', 'me', 60_000)).toBe(false);
        expect(await claim('alice', 'dead-run', 'fp-1', { owner: 'retry' })).toEqual(CLAIMED);
        // Taken over: the first owner's renewal no longer holds it, and says so.
        expect(await store.renewIdempotencyKey('alice', 'dead-run', 'me', 60_000)).toBe(false);
        expect(await claim('alice', 'dead-run', 'fp-1', { owner: 'third' })).toEqual({ state: 'in_progress' });

        // Answered: nothing left to renew.
        expect(await settle('alice', 'slow-run', answer, 'entry-1')).toBe(true);
        expect(await store.renewIdempotencyKey('alice', 'slow-run', 'me', 60_000)).toBe(false);
        expect(await store.renewIdempotencyKey('alice', 'never-claimed', 'me', 60_000)).toBe(false);
      });

      it("a fleet's final members are kept across a release, and given to the retry that takes the key", async () => {
        await claim('alice', 'fleet', 'fp-1');
        const member = (appliance: string, entryId: string) =>
          store.completeIdempotencyKey({
            caller: 'alice',
            key: 'fleet',
            entryId,
            member: appliance,
            memberResult: JSON.stringify({ appliance, status: 202 }),
          });
        expect(await member('vc-a', 'entry-a')).toBe(true);
        expect(await member('vc-b', 'entry-b')).toBe(true);
        await store.releaseIdempotencyKey('alice', 'fleet', 'me');
        expect(await claim('alice', 'fleet', 'fp-1', { owner: 'retry' })).toEqual({
          state: 'claimed',
          members: {
            'vc-a': { result: JSON.stringify({ appliance: 'vc-a', status: 202 }), entryId: 'entry-a' },
            'vc-b': { result: JSON.stringify({ appliance: 'vc-b', status: 202 }), entryId: 'entry-b' },
          },
        });
      });

      it("expiry is the database's clock: a replica whose clock is a day ahead still finds a fresh key live", async () => {
        expect(await claim('alice', 'fresh', 'fp-1')).toEqual(CLAIMED);
        const realNow = Date.now();
        const ahead = jest.spyOn(Date, 'now').mockReturnValue(realNow + 25 * 3_600_000);
        try {
          expect(await claim('alice', 'fresh', 'fp-1', { owner: 'replica-ahead' })).toEqual({ state: 'in_progress' });
          expect(await store.purgeExpiredIdempotencyKeys()).toBe(0);
        } finally {
          ahead.mockRestore();
        }
      });

      it('an expired key counts as absent, whatever its state; the purge deletes expired keys only', async () => {
        await claim('alice', 'stale-run', 'fp-1', { ttlMs: -1000 });
        await claim('alice', 'stale-done', 'fp-1', { ttlMs: -1000 });
        await settle('alice', 'stale-done', answer, 'entry-1');
        await claim('alice', 'fresh', 'fp-1');
        expect(await claim('alice', 'stale-done', 'fp-other')).toEqual(CLAIMED);

        expect(await store.purgeExpiredIdempotencyKeys()).toBe(1); // stale-run
        expect(await claim('alice', 'fresh', 'fp-1', { owner: 'retry' })).toEqual({ state: 'in_progress' });
        expect(await claim('alice', 'stale-done', 'fp-other', { owner: 'retry' })).toEqual({ state: 'in_progress' });
        expect(await store.purgeExpiredIdempotencyKeys()).toBe(0);
      });

      it('a completed entry carrying a settlement writes the key in its own transaction', async () => {
        await claim('alice', 'settled', 'fp-1');
        const completed = completion(draft());
        completed.settles = { caller: 'alice', key: 'settled', response: answer, entryId: completed.id };
        const entry = await store.append(completed);
        expect(entry).not.toHaveProperty('settles');
        expect(await claim('alice', 'settled', 'fp-1')).toEqual({ state: 'done', response: answer, entryId: entry.id });
        expect(await verify(store)).toMatchObject({ ok: true });
      });

      if (concurrent)
        it('two stores claiming the same keys at the same moment: exactly one claim wins each key', async () => {
          const other = fixture.rivalStore();
          await other.open();
          try {
            const keys = Array.from({ length: 20 }, (_, i) => `race-${i}`);
            const claims = await Promise.all(
              keys.flatMap((key) =>
                [store, other].map((s) =>
                  s.claimIdempotencyKey({
                    caller: 'alice',
                    key,
                    fingerprint: 'fp-1',
                    owner: `o-${key}`,
                    ttlMs: DAY_MS,
                    leaseMs: 60_000,
                  }),
                ),
              ),
            );
            for (const [i, key] of keys.entries()) {
              const states = [claims[2 * i].state, claims[2 * i + 1].state].sort();
              expect({ key, states }).toEqual({ key, states: ['claimed', 'in_progress'] });
            }
          } finally {
            await other.close();
          }
        });
    });

    if (concurrent) {
      itOnBuiltCode(
        'two processes appending to one database at the same time keep one valid chain',
        async () => {
          await appendAll([draft(), draft(), draft()]);
          const inProcess = (async () => {
            for (let i = 0; i < 40; i++) await store.append(draft({ actor: { ...draft().actor, subject: 'parent' } }));
          })();
          await Promise.all([
            fixture.appendFromChildren([
              { count: 150, tag: 'child-1' },
              { count: 150, tag: 'child-2' },
            ]),
            inProcess,
          ]);
          expect(await verify(store)).toEqual({ ok: true, count: 343 });
          // In chain order (pages list by time, and each process stamps its drafts before they queue for the lock).
          const all = (await store.query({}, { limit: 500 })).sort((a, b) => b.seq - a.seq);
          expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 343 }, (_, i) => 343 - i));
          const bySubject = (subject: string) => all.filter((e) => e.actor.subject === subject);
          expect(bySubject('child-1')).toHaveLength(150);
          expect(bySubject('child-2')).toHaveLength(150);
          expect(bySubject('parent')).toHaveLength(40);
          // Each writer's own entries stay in its order.
          const child1 = bySubject('child-1')
            .map((e) => e.requestId)
            .reverse();
          expect(child1).toEqual(Array.from({ length: 150 }, (_, i) => `child-1-${i}`));
          // They really ran concurrently: the chain interleaves the children.
          const writers = all.map((e) => e.actor.subject).filter((s) => s.startsWith('child-'));
          const switches = writers.filter((s, i) => i > 0 && s !== writers[i - 1]).length;
          expect(switches).toBeGreaterThan(1);
        },
        45_000,
      );
    }
  });
}

function verify(store: SuiteStore) {
  return store.verify();
}

function restore(column: string, entry: AuditEntry): string {
  const original: Record<string, string | null> = {
    appliance: entry.appliance,
    actor_subject: entry.actor.subject,
    comment: entry.comment,
    time: entry.time,
    hash: entry.hash,
  };
  const value = original[column];
  return `UPDATE audit_entries SET ${column} = ${value === null ? 'NULL' : `'${value}'`} WHERE seq = ${entry.seq}`;
}
