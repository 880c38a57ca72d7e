import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditActor, AuditCompletedInput, AuditRequestedInput } from '../../../src/audit/audit-entry.js';
import { SqliteAuditStore } from '../../../src/audit/store/sqlite-audit-store.js';
import { GatewayError } from '../../../src/problems/gateway-error.js';
import { auditTrail } from '../../support/audit-trail.js';
import { ALICE, DAY_MS } from '../../support/drafts.js';
import { tempDirPerTest } from '../../support/temp-dir.js';
import { waitFor } from '../../support/wait-for.js';

const run = (requestId: string, extra: Partial<AuditRequestedInput> = {}): AuditRequestedInput => ({
  requestId,
  action: 'backup.schedule.run',
  actor: ALICE,
  appliance: 'vc-a',
  schedule: 'default',
  ...extra,
});

/** `requestedId`: what AuditRecorder.requested resolved with for this run. */
const done = (
  requestId: string,
  requestedId: string,
  extra: Partial<AuditCompletedInput> = {},
): AuditCompletedInput => ({
  ...run(requestId),
  requestedId,
  outcome: 'accepted',
  httpStatus: 202,
  jobId: '20260310-081502-00000001',
  durationMs: 41.6,
  ...extra,
});

const spoolLines = (path: string) =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line))
    : [];

/**
 * The recorder, the reader and the retention purge on a real SQLite file, the store from the sources on this thread
 * (so an edit to the store or the recorder is tested without a build; the worker suite runs the built thread).
 */
describe('the audit trail (recorder, reader, retention)', () => {
  const dir = tempDirPerTest('audit-recorder-');
  const store = (path = join(dir(), 'audit.db'), busyTimeoutMs?: number) =>
    new SqliteAuditStore(path, { busyTimeoutMs });

  it('records requested, completed and denied entries, pairs them, logs each one, and stores no secret', async () => {
    const { recorder, reader, logs, start, stop } = auditTrail(store(), dir());
    await start();
    // Whatever else a caller's object carries never reaches the trail.
    const actor = { ...ALICE, token: 'eyJhbGciOi.secret-token' } as AuditActor;
    const first = await recorder.requested(
      run('req-1', { actor, comment: 'before the upgrade', fleetRequestId: 'fleet-9' }),
    );
    await recorder.completed(done('req-1', first, { actor }));
    await recorder.requested(run('req-2'));
    await recorder.denied({
      ...run('req-3', { appliance: 'vc-b' }),
      httpStatus: 403,
      code: 'FORBIDDEN',
      durationMs: 3,
    });

    const { items, nextCursor } = await reader.events({}, 50);
    expect(nextCursor).toBeNull();
    const [denied, orphan, completed, requested] = items;
    expect(requested).toMatchObject({
      seq: 1,
      stage: 'requested',
      requestId: 'req-1',
      actor: ALICE,
      comment: 'before the upgrade',
      fleetRequestId: 'fleet-9',
      outcome: null,
      finalOutcome: 'accepted',
    });
    expect(requested.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(completed).toMatchObject({
      stage: 'completed',
      outcome: 'accepted',
      httpStatus: 202,
      jobId: '20260310-081502-00000001',
      durationMs: 42,
      requestedId: requested.id,
      finalOutcome: 'accepted',
    });
    expect(orphan).toMatchObject({ stage: 'requested', requestId: 'req-2', finalOutcome: 'unknown' });
    expect(denied).toMatchObject({
      stage: 'completed',
      outcome: 'denied',
      httpStatus: 403,
      code: 'FORBIDDEN',
      appliance: 'vc-b',
      jobId: null,
      requestedId: null,
    });
    expect(await reader.verify()).toEqual({ ok: true, count: 4 });
    expect(await recorder.healthy()).toBe(true);

    const auditLines = logs.filter((line) => line.audit === true);
    expect(auditLines).toHaveLength(4);
    for (const item of items) {
      const line = auditLines.find((l) => l.id === item.id);
      const { time, finalOutcome: _derived, ...fields } = item;
      expect(line).toMatchObject({ ...fields, entryTime: time, level: 'info', msg: 'audit entry' });
    }
    expect(JSON.stringify(logs)).not.toContain('secret-token');
    expect(JSON.stringify(items)).not.toContain('secret-token');
    await stop();
  });

  it('fails closed when the store cannot be opened at start-up, without stopping the app', async () => {
    const notADirectory = join(dir(), 'file');
    writeFileSync(notADirectory, '');
    const trail = auditTrail(store(join(notADirectory, 'audit.db')), dir());
    const { recorder, reader, logs } = trail;
    await trail.start();
    expect(await recorder.healthy()).toBe(false);
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'error', store: 'sqlite', msg: expect.stringContaining('cannot be opened') }),
    );

    const refused = await recorder.requested(run('req-1')).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GatewayError);
    expect(refused).toMatchObject({ code: 'AUDIT_UNAVAILABLE', status: 503, details: { retryAfter: 30 } });
    await expect(reader.verify()).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });

    // Never throws; resolves with the entry's id once it is in the log and, on disk, in the spool.
    const spooledId = await recorder.completed(done('req-0', 'some-requested-id'));
    expect(spooledId).toMatch(/^[0-9a-f-]{36}$/);
    expect(logs).toContainEqual(
      expect.objectContaining({
        audit: true,
        written: false,
        stage: 'completed',
        requestId: 'req-0',
        outcome: 'accepted',
      }),
    );
    expect(spoolLines(trail.spoolPath)).toEqual([
      expect.objectContaining({ id: spooledId, requestId: 'req-0', stage: 'completed' }),
    ]);
    await trail.stop();
    expect(logs).toContainEqual(
      expect.objectContaining({ entries: 1, msg: expect.stringContaining('still wait in the spool') }),
    );
  });

  it('while the store refuses writes: runs are refused, completions are spooled and written once it recovers', async () => {
    const path = join(dir(), 'audit.db');
    const trail = auditTrail(store(path, 20), dir());
    const { recorder, reader, logs } = trail;
    await trail.start();
    const first = await recorder.requested(run('req-1'));

    // Another connection holds the database's write lock.
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    await expect(recorder.requested(run('req-2'))).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
    const started = Date.now();
    await recorder.completed(done('req-1', first));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(logs).toContainEqual(
      expect.objectContaining({ audit: true, written: false, requestId: 'req-1', stage: 'completed' }),
    );
    expect(spoolLines(trail.spoolPath)).toEqual([expect.objectContaining({ requestId: 'req-1', stage: 'completed' })]);
    expect(await recorder.healthy()).toBe(true);

    other.exec('COMMIT');
    other.close();
    await waitFor(async () => (await reader.events({ stage: 'completed' }, 10)).items.length === 1);
    const { items } = await reader.events({}, 10);
    expect(items.map((e) => [e.requestId, e.stage, e.finalOutcome])).toEqual([
      ['req-1', 'completed', 'accepted'],
      ['req-1', 'requested', 'accepted'],
    ]);
    expect(items[0].requestedId).toBe(items[1].id);
    expect(await reader.verify()).toEqual({ ok: true, count: 2 });
    await waitFor(() => readFileSync(trail.spoolPath, 'utf8') === '');
    await trail.stop();
  });

  it('a completion still spooled at shutdown is written by the next start on the same files', async () => {
    const path = join(dir(), 'audit.db');
    const first = auditTrail(store(path, 20), dir());
    await first.start();
    const requestedId = await first.recorder.requested(run('req-1'));
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      await first.recorder.completed(
        done('req-1', requestedId, { outcome: 'unknown', httpStatus: 504, code: 'APPLIANCE_TIMEOUT' }),
      );
      await first.stop();
    } finally {
      other.exec('COMMIT');
      other.close();
    }
    expect(spoolLines(first.spoolPath)).toEqual([expect.objectContaining({ requestId: 'req-1' })]);

    const next = auditTrail(store(path), dir());
    await next.start();
    expect(next.logs).toContainEqual(
      expect.objectContaining({ entries: 1, msg: expect.stringContaining('earlier process') }),
    );
    await waitFor(async () => (await next.reader.events({ stage: 'completed' }, 10)).items.length === 1);
    const { items } = await next.reader.events({ stage: 'completed' }, 10);
    expect(items).toEqual([
      expect.objectContaining({ requestId: 'req-1', outcome: 'unknown', code: 'APPLIANCE_TIMEOUT', requestedId }),
    ]);
    expect(await next.reader.verify()).toEqual({ ok: true, count: 2 });
    await waitFor(() => readFileSync(next.spoolPath, 'utf8') === '');
    await next.stop();
  });

  it('a spool whose last line is torn (SIGKILL mid-write): that line is logged and skipped, the rest is written', async () => {
    const path = join(dir(), 'audit.db');
    const writer = auditTrail(store(path), dir());
    await writer.start();
    const requestedId = await writer.recorder.requested(run('req-1'));
    await writer.stop();
    // Two completions a dead process spooled, and the start of a third it was writing when it died.
    const spooled = [
      { ...draftOf('req-1', requestedId), id: '00000000-0000-4000-8000-00000000000a' },
      { ...draftOf('req-2', null), id: '00000000-0000-4000-8000-00000000000b' },
    ];
    const torn = JSON.stringify({ ...draftOf('req-3', null), id: '00000000-0000-4000-8000-00000000000c' }).slice(0, 80);
    writeFileSync(writer.spoolPath, `${spooled.map((d) => JSON.stringify(d)).join('\n')}\n${torn}`);

    const next = auditTrail(store(path), dir());
    await next.start();
    expect(next.logs).toContainEqual(
      expect.objectContaining({ level: 'error', torn, msg: expect.stringContaining('torn') }),
    );
    await waitFor(async () => (await next.reader.events({ stage: 'completed' }, 10)).items.length === 2);
    const { items } = await next.reader.events({}, 10);
    expect(items.map((e) => [e.id, e.requestId])).toEqual([
      [spooled[1].id, 'req-2'],
      [spooled[0].id, 'req-1'],
      [requestedId, 'req-1'],
    ]);
    expect(await next.reader.verify()).toEqual({ ok: true, count: 3 });
    await waitFor(() => readFileSync(next.spoolPath, 'utf8') === '');
    await next.stop();
  });

  it('an entry the store refuses for good is logged in full and not retried; the entries after it are written', async () => {
    const path = join(dir(), 'audit.db');
    const trail = auditTrail(store(path), dir());
    await trail.start();
    expect(await trail.recorder.healthy()).toBe(true); // open: the schema is there
    // Someone with database access makes the store refuse one entry for good (SQLITE_CONSTRAINT_TRIGGER).
    const db = new Database(path);
    db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON audit_entries WHEN NEW.comment = 'refused'
             BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END`);
    db.close();
    const requestedId = await trail.recorder.requested(run('req-1'));
    await trail.recorder.denied({
      ...run('req-2', { comment: 'refused' }),
      httpStatus: 403,
      code: 'FORBIDDEN',
      durationMs: 1,
    });
    await trail.recorder.completed(done('req-1', requestedId));
    expect(trail.logs).toContainEqual(
      expect.objectContaining({
        audit: true,
        written: false,
        rejected: true,
        requestId: 'req-2',
        comment: 'refused',
        level: 'error',
      }),
    );
    const { items } = await trail.reader.events({}, 10);
    expect(items.map((e) => [e.requestId, e.stage])).toEqual([
      ['req-1', 'completed'],
      ['req-1', 'requested'],
    ]);
    expect(spoolLines(trail.spoolPath)).toEqual([]);
    await trail.stop();
  });

  it("exports every entry once, newest first, in pages of the store's own size (a last page full or not)", async () => {
    // Pages of 3, so that nine and ten entries end on a full page and on a part of one.
    const limits: number[] = [];
    class SmallPages extends SqliteAuditStore {
      override readonly exportPageSize = 3;
      override queryNdjson(...args: Parameters<SqliteAuditStore['queryNdjson']>) {
        limits.push(args[1].limit);
        return super.queryNdjson(...args);
      }
    }
    const trail = auditTrail(new SmallPages(join(dir(), 'audit.db')), dir());
    await trail.start();
    const exported = async () => {
      let text = '';
      for await (const chunk of await trail.reader.exportNdjson({})) text += chunk;
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line).requestId);
    };
    const written: string[] = [];
    for (let i = 1; i <= 10; i++) {
      await trail.recorder.requested(run(`req-${i}`));
      written.unshift(`req-${i}`);
      if (i === 9) expect(await exported()).toEqual(written);
    }
    expect(await exported()).toEqual(written);
    // Nine entries: three full pages and an empty one; ten: four pages, the last of one entry.
    expect(limits).toEqual([3, 3, 3, 3, 3, 3, 3, 3]);
    await trail.stop();
  });

  it('purges entries older than audit.retentionDays and the chain still verifies', async () => {
    const trail = auditTrail(store(), dir(), { retentionDays: 1 });
    const { recorder, reader, retention, logs } = trail;
    await trail.start();
    const first = await recorder.requested(run('req-1'));
    await recorder.completed(done('req-1', first));
    expect(await retention.purgeExpired()).toMatchObject({ deleted: 0 });
    expect(await retention.purgeExpired(new Date(Date.now() + 2 * DAY_MS))).toMatchObject({ deleted: 2, anchorSeq: 2 });
    expect(logs).toContainEqual(expect.objectContaining({ auditPurge: true, deleted: 2, retentionDays: 1 }));
    expect(await reader.verify()).toEqual({ ok: true, count: 0 });
    await recorder.requested(run('req-2'));
    expect(await reader.verify()).toEqual({ ok: true, count: 1 });
    await trail.stop();
  });

  it('purges the finished notifications as old as the purged entries; pending ones are left to their window', async () => {
    const sqlite = store();
    // One row a transaction: the purge goes on batch after batch until none is left.
    sqlite.purgeBatch = 1;
    const trail = auditTrail(sqlite, dir(), { retentionDays: 1 });
    await trail.start();
    const message = (id: string) => ({
      id,
      eventId: id,
      webhook: 'portal',
      type: 'com.backupgateway.run.accepted',
      subject: 'vc-a',
      body: JSON.stringify({ actor: 'alice', comment: 'kept only as long as the entries' }),
    });
    await trail.recorder.requested(run('req-1')); // the trail opens its store on first use
    await sqlite.enqueueNotifications([message('msg_delivered'), message('msg_given_up'), message('msg_pending')]);
    await sqlite.claimNotifications('me', 3, 60_000);
    await sqlite.settleNotification('msg_delivered', 'me', { outcome: 'delivered', status: 204 });
    await sqlite.settleNotification('msg_given_up', 'me', { outcome: 'failed', status: 410, error: 'gone' });
    const ids = async () => (await sqlite.listNotifications({}, { limit: 10 })).map((m) => m.id).sort();

    // Younger than the cutoff: nothing goes.
    await trail.retention.purgeExpired();
    expect(await ids()).toEqual(['msg_delivered', 'msg_given_up', 'msg_pending']);
    await trail.retention.purgeExpired(new Date(Date.now() + 2 * DAY_MS));
    expect(await ids()).toEqual(['msg_pending']);
    expect(trail.logs).toContainEqual(expect.objectContaining({ auditPurge: true, notificationsDeleted: 2 }));
    await trail.stop();
  });

  it('a purge cut short by the shutdown is logged as stopped, not as failed, and the next one finishes it', async () => {
    const path = join(dir(), 'audit.db');
    const sqlite = store(path);
    sqlite.purgeBatch = 1;
    const trail = auditTrail(sqlite, dir(), { retentionDays: 1 });
    await trail.start();
    for (let i = 1; i <= 30; i++) await trail.recorder.requested(run(`req-${i}`));
    const later = new Date(Date.now() + 2 * DAY_MS);
    const purge = trail.retention.purgeExpired(later);
    await trail.stop();
    const stopped = await purge;
    expect(stopped).toMatchObject({ interrupted: true });
    expect(trail.logs).toContainEqual(
      expect.objectContaining({ auditPurge: true, interrupted: true, msg: expect.stringContaining('stopped') }),
    );
    expect(trail.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);

    const next = auditTrail(store(path), dir(), { retentionDays: 1 });
    await next.start();
    expect(await next.retention.purgeExpired(later)).toMatchObject({
      deleted: 30 - (stopped?.deleted ?? 0),
      anchorSeq: 30,
    });
    expect(await next.reader.verify()).toEqual({ ok: true, count: 0 });
    await next.stop();
  });
});

function draftOf(requestId: string, requestedId: string | null) {
  return {
    id: '',
    time: new Date().toISOString(),
    stage: 'completed',
    requestId,
    action: 'backup.schedule.run',
    actor: { ...ALICE },
    appliance: 'vc-a',
    schedule: 'default',
    comment: null,
    outcome: requestedId ? 'accepted' : 'denied',
    httpStatus: requestedId ? 202 : 403,
    code: requestedId ? null : 'FORBIDDEN',
    jobId: null,
    durationMs: 7,
    fleetRequestId: null,
    requestedId,
  };
}
