import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditActor, AuditCompletedInput, AuditRequestedInput } from '../../src/audit/audit-entry.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';
import { GatewayError } from '../../src/problems/gateway-error.js';
import { ALICE, DAY_MS } from '../support/drafts.js';
import { auditService, waitFor } from '../support/service.js';
import { tempDirPerTest } from '../support/temp-dir.js';

const run = (requestId: string, extra: Partial<AuditRequestedInput> = {}): AuditRequestedInput => ({
  requestId,
  action: 'backup.schedule.run',
  actor: ALICE,
  appliance: 'vc-a',
  schedule: 'default',
  ...extra,
});

/** `requestedId`: what recordRequested resolved with for this run. */
const done = (
  requestId: string,
  requestedId: string | undefined,
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

describe('AuditService', () => {
  const dir = tempDirPerTest('audit-service-');

  it('records requested, completed and denied entries, pairs them, logs each one, and stores no secret', async () => {
    const { service, logs } = auditService(new SqliteAuditStore(join(dir(), 'audit.db')));
    await service.onModuleInit();
    // Whatever else a caller's object carries never reaches the trail.
    const actor = { ...ALICE, token: 'eyJhbGciOi.secret-token' } as AuditActor;
    const first = await service.recordRequested(
      run('req-1', { actor, comment: 'before the upgrade', fleetRequestId: 'fleet-9' }),
    );
    await service.recordCompleted(done('req-1', first, { actor }));
    await service.recordRequested(run('req-2'));
    await service.recordDenied({
      ...run('req-3', { appliance: 'vc-b' }),
      httpStatus: 403,
      code: 'FORBIDDEN',
      durationMs: 3,
    });

    const { items, nextCursor } = await service.events({}, 50);
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
    expect(await service.verify()).toEqual({ ok: true, count: 4 });
    expect(await service.healthy()).toBe(true);

    const auditLines = logs.filter((line) => line.audit === true);
    expect(auditLines).toHaveLength(4);
    for (const item of items) {
      const line = auditLines.find((l) => l.id === item.id);
      const { time, finalOutcome: _derived, ...fields } = item;
      expect(line).toMatchObject({ ...fields, entryTime: time, level: 'info', msg: 'audit entry' });
    }
    expect(JSON.stringify(logs)).not.toContain('secret-token');
    expect(JSON.stringify(items)).not.toContain('secret-token');
    await service.onApplicationShutdown();
  });

  it('fails closed when the store cannot be opened at start-up, without stopping the app', async () => {
    const notADirectory = join(dir(), 'file');
    writeFileSync(notADirectory, '');
    const { service, logs } = auditService(new SqliteAuditStore(join(notADirectory, 'audit.db')));
    await service.onModuleInit();
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'error', store: 'sqlite', msg: expect.stringContaining('cannot be opened') }),
    );
    expect(await service.healthy()).toBe(false);

    const refused = await service.recordRequested(run('req-1')).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GatewayError);
    expect(refused).toMatchObject({ code: 'AUDIT_UNAVAILABLE', status: 503 });
    await expect(service.verify()).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });

    // Never throws; the entry is in the log at once.
    await expect(service.recordCompleted(done('req-0', undefined))).resolves.toBeUndefined();
    expect(logs).toContainEqual(
      expect.objectContaining({
        audit: true,
        written: false,
        stage: 'completed',
        requestId: 'req-0',
        outcome: 'accepted',
      }),
    );
    await service.onApplicationShutdown();
    expect(logs).toContainEqual(
      expect.objectContaining({
        audit: true,
        written: false,
        requestId: 'req-0',
        msg: expect.stringContaining('only record'),
      }),
    );
  });

  it('while the store refuses writes: runs are refused, completions are kept and written once it recovers', async () => {
    const path = join(dir(), 'audit.db');
    const { service, logs } = auditService(new SqliteAuditStore(path, { busyTimeoutMs: 20 }));
    await service.onModuleInit();
    const first = await service.recordRequested(run('req-1'));

    // Another writer holds the database's write lock.
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    await expect(service.recordRequested(run('req-2'))).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
    const started = Date.now();
    await service.recordCompleted(done('req-1', first));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(logs).toContainEqual(
      expect.objectContaining({ audit: true, written: false, requestId: 'req-1', stage: 'completed' }),
    );
    expect(await service.healthy()).toBe(true);

    other.exec('COMMIT');
    other.close();
    await waitFor(async () => (await service.events({ stage: 'completed' }, 10)).items.length === 1);
    const { items } = await service.events({}, 10);
    expect(items.map((e) => [e.requestId, e.stage, e.finalOutcome])).toEqual([
      ['req-1', 'completed', 'accepted'],
      ['req-1', 'requested', 'accepted'],
    ]);
    expect(items[0].requestedId).toBe(items[1].id);
    expect(await service.verify()).toEqual({ ok: true, count: 2 });
    await service.onApplicationShutdown();
  });

  it('writes kept completions at shutdown before closing the store', async () => {
    const path = join(dir(), 'audit.db');
    const { service } = auditService(new SqliteAuditStore(path, { busyTimeoutMs: 20 }));
    await service.onModuleInit();
    const first = await service.recordRequested(run('req-1'));
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    await service.recordCompleted(
      done('req-1', first, { outcome: 'unknown', httpStatus: 504, code: 'APPLIANCE_TIMEOUT' }),
    );
    other.exec('COMMIT');
    other.close();
    await service.onApplicationShutdown();

    const reopened = auditService(new SqliteAuditStore(path)).service;
    await reopened.onModuleInit();
    const { items } = await reopened.events({ stage: 'completed' }, 10);
    expect(items).toEqual([
      expect.objectContaining({ requestId: 'req-1', outcome: 'unknown', code: 'APPLIANCE_TIMEOUT' }),
    ]);
    expect(await reopened.verify()).toEqual({ ok: true, count: 2 });
    await reopened.onApplicationShutdown();
  });

  it('an entry the store refuses for good is logged in full and not retried; the entries after it are written', async () => {
    const path = join(dir(), 'audit.db');
    const { service, logs } = auditService(new SqliteAuditStore(path));
    await service.onModuleInit();
    // Someone with database access makes the store refuse one entry for good (SQLITE_CONSTRAINT_TRIGGER).
    const db = new Database(path);
    db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON audit_entries WHEN NEW.comment = 'refused'
             BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END`);
    db.close();
    const first = await service.recordRequested(run('req-1'));
    await service.recordDenied({
      ...run('req-2', { comment: 'refused' }),
      httpStatus: 403,
      code: 'FORBIDDEN',
      durationMs: 1,
    });
    await service.recordCompleted(done('req-1', first));
    expect(logs).toContainEqual(
      expect.objectContaining({
        audit: true,
        written: false,
        rejected: true,
        requestId: 'req-2',
        comment: 'refused',
        level: 'error',
      }),
    );
    const { items } = await service.events({}, 10);
    expect(items.map((e) => [e.requestId, e.stage])).toEqual([
      ['req-1', 'completed'],
      ['req-1', 'requested'],
    ]);
    await service.onApplicationShutdown();
  });

  it('purges entries older than audit.retentionDays and the chain still verifies', async () => {
    const { service, logs } = auditService(new SqliteAuditStore(join(dir(), 'audit.db')), { retentionDays: 1 });
    await service.onModuleInit();
    const first = await service.recordRequested(run('req-1'));
    await service.recordCompleted(done('req-1', first));
    expect(await service.purgeExpired()).toMatchObject({ deleted: 0 });
    expect(await service.purgeExpired(new Date(Date.now() + 2 * DAY_MS))).toMatchObject({ deleted: 2, anchorSeq: 2 });
    expect(logs).toContainEqual(expect.objectContaining({ auditPurge: true, deleted: 2, retentionDays: 1 }));
    expect(await service.verify()).toEqual({ ok: true, count: 0 });
    await service.recordRequested(run('req-2'));
    expect(await service.verify()).toEqual({ ok: true, count: 1 });
    await service.onApplicationShutdown();
  });
});
