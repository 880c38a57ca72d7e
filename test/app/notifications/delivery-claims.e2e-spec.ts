import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { Outbox, type OutboxMessageDraft } from '../../../src/audit/outbox.js';
import { SqliteAuditStore } from '../../../src/audit/store/sqlite-audit-store.js';
import { startWorld, type World } from '../../support/fixture.js';
import { tempDir } from '../../support/temp-dir.js';
import { waitFor } from '../../support/wait-for.js';
import { WebhookReceiver } from '../../support/webhook-receiver.js';

const POLL_MS = 200;
const METRICS_TOKEN = 'metrics-scraper-token-0123456789abcdef';
/** A gateway runs 8 attempts at once, at most 4 of them to one webhook (webhook-deliverer.service.ts). */
const ATTEMPTS_PER_WEBHOOK = 4;
const SHUTDOWN_GRACE_MS = 1500;

/**
 * What a replica claims from the outbox, and what it lets go: a gateway with one webhook on a real SQLite file, a
 * receiver on loopback that can hang, and another replica played by claims on the same outbox.
 */
describe('webhook deliveries: claims, shutdown and outcomes', () => {
  let world: World | undefined;
  let receiver: WebhookReceiver;
  /** A second webhook's receiver, which answers at once. */
  let second: WebhookReceiver;
  let dir: string;
  let dbPath: string;
  let outbox: Outbox;
  let gatewayUrl: string;

  beforeEach(async () => {
    receiver = await new WebhookReceiver().start();
    second = await new WebhookReceiver().start();
    dir = tempDir('gw-delivery-');
    dbPath = join(dir, 'audit.db');
    world = await startWorld({
      env: { HOOK_SECRET: receiver.secret, SECOND_SECRET: second.secret },
      extra: {
        publicUrl: 'https://backup-gateway.example.test',
        metrics: { bearerToken: METRICS_TOKEN },
        jobs: { pollIntervalMs: POLL_MS },
        shutdownGraceMs: SHUTDOWN_GRACE_MS,
        audit: { sqlite: { path: dbPath } },
        notifications: {
          webhooks: [
            { id: 'portal', url: receiver.url, secret: '${HOOK_SECRET}' },
            { id: 'second', url: second.url, secret: '${SECOND_SECRET}' },
          ],
        },
      },
    });
    outbox = world.gateway.app.get(Outbox);
    gatewayUrl = world.gateway.url;
  });
  afterEach(async () => {
    receiver.hold = false;
    receiver.answerHeld();
    await world?.stop();
    world = undefined;
    await receiver.stop();
    await second.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const messages = (prefix: string, count: number, webhook = 'portal'): OutboxMessageDraft[] =>
    Array.from({ length: count }, (_, i) => ({
      id: `msg_${prefix}_${String(i).padStart(2, '0')}`,
      eventId: `${prefix}-${i}`,
      webhook,
      type: 'com.backupgateway.run.accepted',
      subject: 'vc-a',
      body: JSON.stringify({ id: `${prefix}-${i}` }),
    }));

  const metrics = async () =>
    (await request(gatewayUrl).get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`).expect(200)).text;

  it('claims no more messages than it starts: the ones waiting stay free for another replica', async () => {
    receiver.hold = true;
    const written = messages('busy', 20);
    await outbox.enqueue(written);
    await waitFor(() => receiver.deliveries.length === ATTEMPTS_PER_WEBHOOK, 5000);
    // Every attempt is busy: nothing more starts, and nothing more is held.
    await new Promise((resolve) => setTimeout(resolve, 3 * POLL_MS));
    expect(receiver.deliveries).toHaveLength(ATTEMPTS_PER_WEBHOOK);
    const sending = new Set(receiver.deliveries.map((d) => d.webhookId));
    const other = await outbox.claim('another-replica', 100, 60_000);
    expect(other.map((m) => m.id).sort()).toEqual(
      written
        .map((m) => m.id)
        .filter((id) => !sending.has(id))
        .sort(),
    );
    // The other replica lets its claim go; this one delivers everything, each message once.
    await outbox.release(
      'another-replica',
      other.map((m) => m.id),
    );
    receiver.hold = false;
    receiver.answerHeld();
    await waitFor(async () => (await outbox.stats()).pending === 0, 10_000);
    const ids = receiver.deliveries.map((d) => d.webhookId);
    expect(ids.sort()).toEqual(written.map((m) => m.id).sort());
  });

  it("a receiver that hangs takes at most half the attempts: another webhook's messages go out meanwhile", async () => {
    receiver.hold = true;
    await outbox.enqueue(messages('hanging', 40));
    await waitFor(() => receiver.deliveries.length === ATTEMPTS_PER_WEBHOOK, 5000);
    // Behind 36 older messages of the hanging webhook, one for the other: it is claimed and delivered at once.
    const [late] = messages('other', 1, 'second');
    await outbox.enqueue([late]);
    await waitFor(() => second.deliveries.length === 1, 3000);
    expect(second.deliveries[0].webhookId).toBe(late.id);
    // The hanging webhook never got more than its share, and what it could not take waits unleased.
    expect(receiver.deliveries).toHaveLength(ATTEMPTS_PER_WEBHOOK);
    const waiting = await outbox.claim('another-replica', 100, 60_000);
    expect(waiting).toHaveLength(40 - ATTEMPTS_PER_WEBHOOK);
    await outbox.release(
      'another-replica',
      waiting.map((m) => m.id),
    );
  });

  it('starts no attempt once stopping, cuts the ones under way by the grace period, and lets every claim go', async () => {
    receiver.hold = true;
    const written = messages('stop', 20);
    await outbox.enqueue(written);
    await waitFor(() => receiver.deliveries.length === ATTEMPTS_PER_WEBHOOK, 5000);
    const started = Date.now();
    await world?.stop();
    world = undefined;
    // Within the grace period, not after every claimed message's 10 s timeout.
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_GRACE_MS + 1000);
    await new Promise((resolve) => setTimeout(resolve, 2 * POLL_MS));
    expect(receiver.deliveries).toHaveLength(ATTEMPTS_PER_WEBHOOK);

    // Another replica (here the same file, opened again) takes every message at once: none is leased any more, and
    // the attempts cut short are not counted against their messages.
    const store = new SqliteAuditStore(dbPath);
    await store.open();
    try {
      const taken = await store.claimNotifications('another-replica', 100, 60_000);
      expect(taken.map((m) => m.id).sort()).toEqual(written.map((m) => m.id).sort());
      expect(taken.every((m) => m.state === 'pending' && m.attempts === 0)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('counts and logs a retry that the 24 h window turns into giving up as failed', async () => {
    receiver.failWith = 500;
    // Recorded 25 h ago (written straight to the file, as the gateway would have then): its window is over.
    const [message] = messages('late', 1);
    const longAgo = new Date(Date.now() - 25 * 3600_000).toISOString();
    await outbox.stats(); // the store (and its tables) exists once opened
    const db = new Database(dbPath);
    try {
      db.prepare(
        `INSERT INTO notification_outbox (id, event_id, webhook, type, subject, body, state, created_at,
           next_attempt_at, attempts, last_status, last_error, delivered_at, lease_owner, lease_until)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, 0, NULL, NULL, NULL, NULL, NULL)`,
      ).run(
        message.id,
        message.eventId,
        message.webhook,
        message.type,
        message.subject,
        message.body,
        longAgo,
        longAgo,
      );
    } finally {
      db.close();
    }
    await waitFor(async () => (await outbox.list({ state: 'failed' }, { limit: 10 })).length === 1, 5000);
    const [row] = await outbox.list({ state: 'failed' }, { limit: 10 });
    expect(row).toEqual(expect.objectContaining({ id: message.id, attempts: 1, lastStatus: 500 }));
    await waitFor(() => world?.gateway.logs.some((line) => line.includes(message.id)) ?? false, 2000);

    const text = await metrics();
    expect(text).toMatch(/backup_gateway_notification_attempts_total\{webhook="portal",result="failed"\} 1\b/);
    expect(text).not.toMatch(/backup_gateway_notification_attempts_total\{webhook="portal",result="retry"\}/);
    const logged = (world?.gateway.logs ?? [])
      .filter((line) => line.includes(message.id))
      .map((line) => JSON.parse(line) as { msg: string });
    expect(logged.map((line) => line.msg)).toEqual(['notification given up on']);
  });

  it('leaves a message for a webhook it does not know to a replica that does, retrying it in its window', async () => {
    // A webhook added on the replicas already running the new configuration.
    const [message] = messages('unknown', 1, 'added-later');
    await outbox.enqueue([message]);
    await waitFor(async () => (await outbox.list({ webhook: 'added-later' }, { limit: 1 }))[0]?.attempts === 1, 5000);
    const [row] = await outbox.list({ webhook: 'added-later' }, { limit: 1 });
    expect(row).toEqual(
      expect.objectContaining({
        id: message.id,
        state: 'pending',
        lastStatus: null,
        lastError: 'the webhook is not configured on this replica',
      }),
    );
    expect(Date.parse(row.nextAttemptAt)).toBeGreaterThan(Date.parse(row.createdAt));
    expect(await metrics()).toMatch(
      /backup_gateway_notification_attempts_total\{webhook="not_configured",result="retry"\} 1\b/,
    );
  });
});
