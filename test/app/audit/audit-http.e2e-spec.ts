import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import request from 'supertest';
import { entryHash } from '../../../src/audit/audit-chain.js';
import type { AuditEntry, AuditOutcome } from '../../../src/audit/audit-entry.js';
import { AuditRecorder } from '../../../src/audit/audit-recorder.js';
import { ALICE } from '../../support/drafts.js';
import { startGateway, type TestGateway } from '../../support/gateway.js';
import { IdentityProvider } from '../../support/identity-provider.js';

/** Runs recorded through AuditRecorder directly: the run path wires it in separately. */
async function recordRun(audit: AuditRecorder, appliance: string, outcome: AuditOutcome | 'none', subject = 'alice') {
  const requestId = randomUUID();
  const base = {
    requestId,
    action: 'backup.schedule.run' as const,
    actor: { ...ALICE, subject },
    appliance,
    schedule: 'default',
  };
  const requestedId = await audit.requested(base);
  if (outcome !== 'none') {
    const httpStatus = outcome === 'accepted' ? 202 : 409;
    await audit.completed({ ...base, outcome, httpStatus, durationMs: 12, requestedId });
  }
  return requestId;
}

describe('GET /audit/events and /audit/verify', () => {
  let idp: IdentityProvider;
  let gateway: TestGateway;
  let audit: AuditRecorder;
  let reader: string;
  const applianceUrl = 'http://127.0.0.1:9';

  beforeAll(async () => {
    idp = await new IdentityProvider().start();
    gateway = await startGateway({
      auth: { jwt: idp.jwtConfig() },
      appliances: ['vc-a', 'vc-b'].map((id) => ({ id, url: applianceUrl, username: 'svc', password: 'not-used-here' })),
    });
    try {
      audit = gateway.app.get(AuditRecorder);
    } catch {
      throw new Error('AuditRecorder is not in the app: AppModule (src/app.module.ts) must import AuditModule');
    }
    reader = await idp.token({ scope: 'audit:read' });
    await recordRun(audit, 'vc-a', 'accepted');
    await recordRun(audit, 'vc-b', 'rejected', 'bob');
    await recordRun(audit, 'vc-a', 'none');
    await recordRun(audit, 'vc-b', 'accepted');
    await audit.denied({
      requestId: 'denied-1',
      action: 'backup.schedule.run',
      actor: { ...ALICE, subject: 'mallory' },
      appliance: 'vc-a',
      schedule: 'default',
      httpStatus: 403,
      code: 'FORBIDDEN',
      durationMs: 1,
    });
  });
  afterAll(async () => {
    await gateway.close();
    await idp.stop();
  });

  const get = (path: string, token = reader) => request(gateway.url).get(path).set('authorization', `Bearer ${token}`);

  it('needs a caller, and the audit:read scope', async () => {
    for (const path of ['/audit/events', '/audit/verify']) {
      await request(gateway.url).get(path).expect(401);
      const forbidden = await get(path, await idp.token({ scope: 'backups:run backups:read' })).expect(403);
      expect(forbidden.body).toMatchObject({ code: 'FORBIDDEN', status: 403 });
      expect(forbidden.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('/audit/verify covers the whole chain: audit:read:{appliance} scopes are not enough (403 FORBIDDEN)', async () => {
    const scoped = await idp.token({ scope: 'audit:read:vc-a audit:read:vc-b' });
    await get('/audit/events', scoped).expect(200);
    const forbidden = await get('/audit/verify', scoped).expect(403);
    expect(forbidden.body).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(forbidden.body.detail).toContain('audit:read');
    expect((await get('/audit/verify').expect(200)).body).toMatchObject({ ok: true });
  });

  it('lists entries newest first with every field, a derived finalOutcome, and nothing secret', async () => {
    const response = await get('/audit/events').expect(200);
    const { items, nextCursor } = response.body as {
      items: (AuditEntry & { finalOutcome: string })[];
      nextCursor: null;
    };
    expect(nextCursor).toBeNull();
    expect(items).toHaveLength(8);
    expect(items.map((e) => e.seq)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(items[0]).toMatchObject({
      stage: 'completed',
      outcome: 'denied',
      requestId: 'denied-1',
      finalOutcome: 'denied',
    });
    expect(Object.keys(items[1]).sort()).toEqual(
      [
        'action',
        'actor',
        'appliance',
        'code',
        'comment',
        'count',
        'durationMs',
        'finalOutcome',
        'fleetRequestId',
        'hash',
        'httpStatus',
        'id',
        'jobId',
        'outcome',
        'prevHash',
        'replayOf',
        'requestId',
        'requestedId',
        'schedule',
        'seq',
        'stage',
        'time',
      ].sort(),
    );
    const orphan = items.find((e) => e.stage === 'requested' && e.finalOutcome === 'unknown');
    expect(orphan).toMatchObject({ appliance: 'vc-a', outcome: null });
    // Anyone can re-check an entry's hash from the response alone.
    for (const item of items) expect(entryHash(item)).toBe(item.hash);
    expect(JSON.stringify(response.body)).not.toMatch(/not-used-here|Bearer|eyJ/);
  });

  it('filters, and pages with an opaque cursor that returns every entry exactly once while new ones arrive', async () => {
    const ids = async (query: string) =>
      (await get(`/audit/events?${query}`).expect(200)).body.items.map((e: AuditEntry) => e.seq);
    expect(await ids('appliance=vc-b')).toEqual([7, 6, 4, 3]);
    expect(await ids('actor=bob')).toEqual([4, 3]);
    expect(await ids('outcome=unknown')).toEqual([5]);
    expect(await ids('outcome=accepted&stage=requested')).toEqual([6, 1]);
    expect(await ids(`since=${encodeURIComponent('2000-01-01T00:00:00+02:00')}&until=2100-01-01`)).toHaveLength(8);
    expect(await ids('until=2000-01-01')).toEqual([]);
    expect(await ids('requestId=denied-1')).toEqual([8]);

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await get(`/audit/events?limit=3${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      seen.push(...page.body.items.map((e: AuditEntry) => e.seq));
      cursor = page.body.nextCursor;
      await recordRun(audit, 'vc-a', 'accepted', 'late-arrival');
    } while (cursor !== null);
    expect(seen).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('answers 400 VALIDATION_FAILED for invalid filters', async () => {
    const invalid = [
      'limit=0',
      'limit=501',
      'limit=ten',
      'outcome=maybe',
      'stage=started',
      'since=yesterday',
      'since=2026-02-30',
      'until=2026-03-10T10:00:00',
      'appliance=../etc',
      'cursor=not!a!cursor',
      `cursor=${Buffer.from('v1:-3').toString('base64url')}`,
      'colour=blue',
      'appliance=vc-a&appliance=vc-b',
    ];
    for (const query of invalid) {
      const response = await get(`/audit/events?${query}`);
      expect({ query, status: response.status, code: response.body.code }).toEqual({
        query,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
  });

  it('limits a caller holding audit:read:{appliance} to that appliance', async () => {
    const token = await idp.token({ scope: 'audit:read:vc-b' });
    const items = (await get('/audit/events?limit=500', token).expect(200)).body.items as AuditEntry[];
    expect(items.length).toBeGreaterThan(0);
    expect(new Set(items.map((e) => e.appliance))).toEqual(new Set(['vc-b']));
    await get('/audit/events?appliance=vc-b', token).expect(200);
    const other = await get('/audit/events?appliance=vc-a', token).expect(403);
    expect(other.body.code).toBe('FORBIDDEN');
    const ndjson = await get('/audit/events', token).set('accept', 'application/x-ndjson').expect(200);
    expect(
      ndjson.text
        .trim()
        .split('\n')
        .every((line) => JSON.parse(line).appliance === 'vc-b'),
    ).toBe(true);
  });

  it('streams every matching entry as NDJSON with Accept: application/x-ndjson, ignoring limit', async () => {
    const all = (await get('/audit/events?limit=500').expect(200)).body.items as AuditEntry[];
    const response = await get('/audit/events?limit=1').set('accept', 'application/x-ndjson').expect(200);
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = response.text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line))).toEqual(all);
    const vcB = await get('/audit/events?appliance=vc-b&stage=completed')
      .set('accept', 'application/x-ndjson')
      .expect(200);
    expect(
      vcB.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).stage),
    ).toEqual(['completed', 'completed']);
  });

  it('verifies the chain, and reports an entry edited in the database (200 either way)', async () => {
    const before = (await get('/audit/verify').expect(200)).body;
    expect(before).toEqual({ ok: true, count: expect.any(Number) });
    const db = new Database(gateway.config.audit.sqlite.path);
    const row = db.prepare('SELECT id FROM audit_entries WHERE seq = 3').get() as { id: string };
    db.prepare("UPDATE audit_entries SET actor_subject = 'someone-else' WHERE seq = 3").run();
    db.close();
    const after = (await get('/audit/verify').expect(200)).body;
    expect(after).toEqual({ ok: false, count: 2, firstBad: { id: row.id, reason: 'hash' } });
  });

  it('logs every entry as one structured line with audit: true', () => {
    const lines = gateway.logs.map((line) => JSON.parse(line)).filter((line) => line.audit === true);
    expect(lines.length).toBeGreaterThanOrEqual(8);
    expect(lines.find((line) => line.requestId === 'denied-1')).toMatchObject({
      stage: 'completed',
      outcome: 'denied',
      actor: { subject: 'mallory' },
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      entryTime: expect.any(String),
    });
  });

  it('documents both routes in the OpenAPI document', async () => {
    const doc = (await request(gateway.url).get('/docs-json').expect(200)).body;
    const events = doc.paths['/audit/events'].get;
    expect(Object.keys(events.responses['200'].content).sort()).toEqual(['application/json', 'application/x-ndjson']);
    expect(events.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['actor', 'appliance', 'cursor', 'limit', 'outcome', 'requestId', 'schedule', 'since', 'stage', 'until'].sort(),
    );
    expect(Object.keys(events.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '503']));
    expect(doc.paths['/audit/verify'].get.responses['200']).toBeDefined();
    expect(doc.components.schemas.AuditEventDto.properties.finalOutcome).toBeDefined();
  });
});
