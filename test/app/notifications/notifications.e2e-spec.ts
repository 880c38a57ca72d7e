import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';
import { waitFor } from '../../support/wait-for.js';
import { WebhookReceiver } from '../../support/webhook-receiver.js';

const POLL_MS = 200;
const PUBLIC_URL = 'https://backup-gateway.example.test';
const METRICS_TOKEN = 'metrics-scraper-token-0123456789abcdef';

/**
 * Job-end notifications through HTTP: a run through the API, a receiver on loopback that verifies every signature
 * with the standardwebhooks package, and the deliveries list.
 */
describe('job-end notifications', () => {
  let world: World;
  let receiver: WebhookReceiver;
  let failuresOnly: WebhookReceiver;
  /** Where a redirect points: must never be called. */
  let elsewhere: WebhookReceiver;
  /** Answers 307 to `elsewhere`, with a 16 MB body the gateway must not read. */
  let redirecting: Server;
  /** Per redirect answered: the bytes the socket took, and whether the whole body went out. */
  const redirects: { bytes: number; finished: boolean }[] = [];
  let auth: string;

  beforeAll(async () => {
    receiver = await new WebhookReceiver().start();
    failuresOnly = await new WebhookReceiver().start();
    elsewhere = await new WebhookReceiver().start();
    redirecting = createServer((req, res) => {
      req.resume();
      const answer = { bytes: 0, finished: false };
      redirects.push(answer);
      res.writeHead(307, { location: elsewhere.url, 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      const more = () => {
        while (sent < 256) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', more);
          answer.bytes += chunk.length;
        }
        res.end(() => {
          answer.finished = true;
        });
      };
      res.on('error', () => undefined);
      more();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    const redirectUrl = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hook`;
    world = await startWorld({
      simulatorOptions: { jobDurationMs: 600 },
      env: { HOOK_SECRET: receiver.secret, FAILURES_SECRET: failuresOnly.secret, ELSEWHERE_SECRET: elsewhere.secret },
      extra: {
        publicUrl: PUBLIC_URL,
        metrics: { bearerToken: METRICS_TOKEN },
        jobs: { pollIntervalMs: POLL_MS },
        notifications: {
          webhooks: [
            { id: 'portal', url: receiver.url, secret: '${HOOK_SECRET}' },
            {
              id: 'chat-ops',
              url: failuresOnly.url,
              secret: '${FAILURES_SECRET}',
              events: ['com.backupgateway.job.failed'],
              tags: ['prod'],
            },
            {
              id: 'redirecting',
              url: redirectUrl,
              secret: '${ELSEWHERE_SECRET}',
              events: ['com.backupgateway.run.accepted'],
              tags: ['lab'],
            },
          ],
        },
      },
    });
    auth = `Bearer ${await world.idp.token({ scope: 'backups:run backups:read audit:read' })}`;
  });
  afterAll(async () => {
    await world?.stop();
    await receiver?.stop();
    await failuresOnly?.stop();
    await elsewhere?.stop();
    redirecting?.closeAllConnections();
    await new Promise((resolve) => redirecting?.close(resolve));
  });

  const run = (appliance: string, requestId: string) =>
    request(world.gateway.url)
      .post(`/appliances/${appliance}/backups/schedules/default/run`)
      .set('authorization', auth)
      .set('x-request-id', requestId)
      .send({ comment: 'before the upgrade' })
      .expect(202);

  it('announces the accepted run and, with nobody watching, the job succeeding: signed CloudEvents', async () => {
    const accepted = await run('vc-a', 'notify-1');
    const jobId = accepted.body.job.id as string;
    await waitFor(() => receiver.of('com.backupgateway.job.succeeded').length === 1, 10_000);

    expect(receiver.deliveries.every((d) => d.verified)).toBe(true);
    const [start] = receiver.of('com.backupgateway.run.accepted');
    const [end] = receiver.of('com.backupgateway.job.succeeded');
    expect(start.contentType).toBe('application/cloudevents+json');
    expect(start.webhookId).toMatch(/^msg_/);
    expect(start.event).toEqual({
      specversion: '1.0',
      id: expect.any(String),
      source: PUBLIC_URL,
      type: 'com.backupgateway.run.accepted',
      subject: 'vc-a',
      time: expect.any(String),
      datacontenttype: 'application/json',
      data: {
        appliance: 'vc-a',
        schedule: 'default',
        jobId,
        requestId: 'notify-1',
        actor: expect.objectContaining({ subject: expect.any(String), authMethod: 'jwt' }),
        comment: 'before the upgrade',
      },
    });
    expect(end.event).toEqual(
      expect.objectContaining({
        type: 'com.backupgateway.job.succeeded',
        source: PUBLIC_URL,
        subject: 'vc-a',
        data: expect.objectContaining({
          appliance: 'vc-a',
          schedule: 'default',
          jobId,
          requestId: 'notify-1',
          state: 'SUCCEEDED',
          endTime: expect.any(String),
          messages: expect.any(Array),
        }),
      }),
    );
    // The failures-only webhook (job.failed, tag prod) heard nothing of a success.
    expect(failuresOnly.deliveries).toEqual([]);
  });

  it('retries a delivery the receiver failed (500) with the same webhook-id, until it is delivered, once more', async () => {
    receiver.answers.push(500);
    const before = receiver.deliveries.length;
    await run('vc-b', 'notify-2');
    const accepted = () =>
      receiver.deliveries.slice(before).filter((d) => d.event?.type === 'com.backupgateway.run.accepted');
    await waitFor(() => accepted().some((d) => d.status === 200), 15_000);
    // Nothing more comes of it: the same message is not delivered again.
    await new Promise((resolve) => setTimeout(resolve, 5 * POLL_MS));
    // First attempt answered 500, second 200: the same message, the same id, nothing else.
    const attempts = accepted();
    expect(attempts.map((d) => d.status)).toEqual([500, 200]);
    expect(new Set(attempts.map((d) => d.webhookId)).size).toBe(1);
    expect(attempts[0].event).toEqual(attempts[1].event);
    expect(attempts[0].event?.data.requestId).toBe('notify-2');

    const page = await request(world.gateway.url)
      .get('/notifications/deliveries')
      .query({ webhook: 'portal' })
      .set('authorization', auth)
      .expect(200);
    const delivered = page.body.items.find((item: { id: string }) => item.id === attempts[0].webhookId);
    expect(delivered).toEqual(
      expect.objectContaining({
        webhook: 'portal',
        type: 'com.backupgateway.run.accepted',
        subject: 'vc-b',
        state: 'delivered',
        attempts: 2,
        lastStatus: 200,
        nextAttemptAt: null,
      }),
    );
  });

  it('sends job.failed to the webhook filtered on it and on the appliance tag, and nothing for another tag', async () => {
    world.appliances['vc-a'].jobOutcome = 'FAILED';
    world.appliances['vc-b'].jobOutcome = 'FAILED';
    try {
      await run('vc-a', 'notify-3');
      await run('vc-b', 'notify-4');
      await waitFor(
        () => receiver.of('com.backupgateway.job.failed').length === 2 && failuresOnly.deliveries.length >= 1,
        10_000,
      );
      // vc-b is tagged lab: only the unfiltered webhook hears of it.
      await new Promise((resolve) => setTimeout(resolve, 3 * POLL_MS));
      expect(failuresOnly.deliveries.map((d) => [d.verified, d.event?.type, d.event?.subject])).toEqual([
        [true, 'com.backupgateway.job.failed', 'vc-a'],
      ]);
      expect(failuresOnly.deliveries[0].event?.data).toEqual(
        expect.objectContaining({ requestId: 'notify-3', state: 'FAILED' }),
      );
    } finally {
      world.appliances['vc-a'].jobOutcome = 'SUCCEEDED';
      world.appliances['vc-b'].jobOutcome = 'SUCCEEDED';
    }
  });

  it('follows no redirect, and reads no more than a few KB of an answer: a 3xx is retried at the configured URL', async () => {
    // The runs on vc-b (tag lab) above went to the redirecting webhook too.
    await waitFor(() => redirects.length >= 2, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(elsewhere.deliveries).toEqual([]);
    // The gateway dropped each connection after a few KB: the socket stopped taking the 16 MB long before the end.
    for (const answer of redirects) {
      expect(answer.finished).toBe(false);
      expect(answer.bytes).toBeLessThan(8 * 1024 * 1024);
    }
    const page = await request(world.gateway.url)
      .get('/notifications/deliveries')
      .query({ webhook: 'redirecting', state: 'pending' })
      .set('authorization', auth)
      .expect(200);
    expect(page.body.items[0]).toEqual(
      expect.objectContaining({
        lastStatus: 307,
        lastError: 'the receiver answered 307',
        attempts: expect.any(Number),
      }),
    );
  });

  it('lists deliveries for audit:read only, and never shows a secret or the webhook URL', async () => {
    const readOnly = `Bearer ${await world.idp.token(RUN_AND_READ)}`;
    await request(world.gateway.url).get('/notifications/deliveries').set('authorization', readOnly).expect(403);
    const page = await request(world.gateway.url)
      .get('/notifications/deliveries')
      .query({ limit: 2 })
      .set('authorization', auth)
      .expect(200);
    expect(page.body.items).toHaveLength(2);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    const next = await request(world.gateway.url)
      .get('/notifications/deliveries')
      .query({ limit: 500, cursor: page.body.nextCursor })
      .set('authorization', auth)
      .expect(200);
    const ids = [...page.body.items, ...next.body.items].map((item: { id: string }) => item.id);
    expect(new Set(ids).size).toBe(ids.length);
    const text = page.text + next.text + world.gateway.logs.join('\n');
    for (const secret of [receiver.secret, failuresOnly.secret, receiver.secret.slice(6)]) {
      expect(text).not.toContain(secret);
    }
    expect(page.text + next.text).not.toContain('/hooks/backup-gateway');
    await request(world.gateway.url)
      .get('/notifications/deliveries')
      .query({ cursor: 'bm90LW91cnM' })
      .set('authorization', auth)
      .expect(400);
  });

  it('counts attempts, failures and the backlog in the metrics', async () => {
    const metrics = await request(world.gateway.url)
      .get('/metrics')
      .set('authorization', `Bearer ${METRICS_TOKEN}`)
      .expect(200);
    expect(metrics.text).toMatch(
      /backup_gateway_notification_attempts_total\{webhook="portal",result="delivered"\} \d+/,
    );
    expect(metrics.text).toMatch(/backup_gateway_notification_failures_total\{webhook="portal"\} [1-9]/);
    expect(metrics.text).toMatch(/backup_gateway_notification_backlog \d+/);
    expect(metrics.text).toMatch(/backup_gateway_notification_oldest_pending_age_seconds [\d.]+/);
  });

  it('announces a fleet run in waves once it has ended, once, to the webhooks without a tag filter', async () => {
    for (const sim of Object.values(world.appliances)) sim.finishRunningJobs();
    const started = await request(world.gateway.url)
      .post('/backups/runs')
      .set('authorization', auth)
      .set('prefer', 'respond-async')
      .send({ schedule: 'default', appliances: ['vc-a', 'vc-b'] })
      .expect(202);
    const id = started.body.id as string;
    const completed = () => receiver.of('com.backupgateway.fleet-run.completed').filter((d) => d.event?.subject === id);
    await waitFor(() => completed().length === 1, 15_000);
    const [delivery] = completed();
    expect(delivery.event).toMatchObject({
      type: 'com.backupgateway.fleet-run.completed',
      source: PUBLIC_URL,
      subject: id,
      data: {
        fleetRunId: id,
        schedule: 'default',
        state: 'completed',
        actor: expect.objectContaining({ authMethod: 'jwt' }),
        members: expect.arrayContaining([
          expect.objectContaining({ appliance: 'vc-a', state: 'succeeded', jobId: expect.any(String) }),
          expect.objectContaining({ appliance: 'vc-b', state: 'succeeded', jobId: expect.any(String) }),
        ]),
      },
    });
    // The webhooks with a tag filter hear nothing of a run across appliances.
    expect(failuresOnly.of('com.backupgateway.fleet-run.completed')).toEqual([]);
    const state = await request(world.gateway.url).get(`/backups/runs/${id}`).set('authorization', auth).expect(200);
    expect(state.body.state).toBe('completed');
    // Once: later advances of the ended run announce nothing more.
    await new Promise((resolve) => setTimeout(resolve, 3 * POLL_MS));
    expect(completed()).toHaveLength(1);
  });
});
