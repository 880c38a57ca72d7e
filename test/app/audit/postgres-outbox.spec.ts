import { PostgresAuditStore } from '../../../src/audit/store/postgres-audit-store.js';
import { completion, draft } from '../../support/drafts.js';
import { describePostgres, dropSchema, freshSchema } from '../../support/postgres.js';

const MESSAGES = 300;

/**
 * The outbox's claim on PostgreSQL, two replicas (two stores, two pools) at once: every message goes to exactly one
 * of them (FOR UPDATE SKIP LOCKED), none waits for the other, and a claimed message is not claimed again while its
 * lease lasts, nor after it is settled.
 */
describePostgres('the notification outbox shared by two replicas on PostgreSQL', (url) => {
  const schema = freshSchema('outbox_claims');
  const stores = [new PostgresAuditStore(url, { schema }), new PostgresAuditStore(url, { schema })];

  beforeAll(async () => {
    for (const store of stores) await store.open();
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await dropSchema(url, schema);
  });

  it('gives each message to one replica when both claim at the same moments', async () => {
    const messages = Array.from({ length: MESSAGES }, (_, i) => ({
      id: `msg_${i}`,
      eventId: `event-${i}`,
      webhook: 'portal',
      type: 'com.backupgateway.run.accepted',
      subject: 'vc-a',
      body: '{}',
    }));
    await stores[0].enqueueNotifications(messages);
    // Written again (a spooled completion, another replica): stored once.
    await stores[1].enqueueNotifications(messages.slice(0, 10));

    const claimed: string[][] = [[], []];
    for (;;) {
      const rounds = await Promise.all(
        stores.flatMap((store, replica) =>
          [0, 1, 2].map(async () => {
            const got = await store.claimNotifications(`replica-${replica}`, 7, 60_000);
            claimed[replica].push(...got.map((message) => message.id));
            return got.length;
          }),
        ),
      );
      if (rounds.every((count) => count === 0)) break;
    }
    const all = [...claimed[0], ...claimed[1]];
    expect(all).toHaveLength(MESSAGES);
    expect(new Set(all).size).toBe(MESSAGES);
    expect(claimed[0].length).toBeGreaterThan(0);
    expect(claimed[1].length).toBeGreaterThan(0);

    // Settled by its holder only; delivered, it is never claimed again.
    const [first] = claimed[0];
    expect(await stores[1].settleNotification(first, 'replica-1', { outcome: 'delivered', status: 200 })).toBeNull();
    expect(await stores[0].settleNotification(first, 'replica-0', { outcome: 'delivered', status: 204 })).toBe(
      'delivered',
    );
    const [row] = await stores[1].listNotifications({ state: 'delivered' }, { limit: 10 });
    expect(row).toEqual(expect.objectContaining({ id: first, attempts: 1, lastStatus: 204, state: 'delivered' }));
  });

  it('answers the state a settled attempt left: a retry due after the window is failed', async () => {
    const message = { eventId: 'event-w', webhook: 'portal', type: 'com.backupgateway.run.accepted', subject: 'vc-a' };
    await stores[0].enqueueNotifications([
      { ...message, id: 'msg_window_open', body: '{}' },
      { ...message, id: 'msg_window_over', body: '{}' },
    ]);
    const ids = new Set(['msg_window_open', 'msg_window_over']);
    const got = (await stores[0].claimNotifications('replica-0', 500, 60_000)).filter((m) => ids.has(m.id));
    expect(got).toHaveLength(2);
    const retry = { outcome: 'retry', status: 500, error: 'the receiver answered 500', retryInMs: 1000 } as const;
    // Within its window: pending, tried again later.
    expect(await stores[0].settleNotification('msg_window_open', 'replica-0', { ...retry, windowMs: 3600_000 })).toBe(
      'pending',
    );
    // The next attempt would fall after the window (500 ms from its creation): given up on, and said so.
    expect(await stores[0].settleNotification('msg_window_over', 'replica-0', { ...retry, windowMs: 500 })).toBe(
      'failed',
    );
  });

  it('lets go of claimed messages at once: another replica claims them without waiting for the lease', async () => {
    const message = { eventId: 'event-r', webhook: 'portal', type: 'com.backupgateway.run.accepted', subject: 'vc-a' };
    await stores[0].enqueueNotifications([{ ...message, id: 'msg_released', body: '{}' }]);
    const mine = (await stores[0].claimNotifications('replica-0', 500, 60_000)).map((m) => m.id);
    expect(mine).toContain('msg_released');
    expect((await stores[1].claimNotifications('replica-1', 500, 60_000)).map((m) => m.id)).not.toContain(
      'msg_released',
    );
    // Only its holder lets it go.
    await stores[1].releaseNotifications('replica-1', ['msg_released']);
    expect(await stores[1].claimNotifications('replica-1', 500, 60_000)).toEqual([]);
    await stores[0].releaseNotifications('replica-0', ['msg_released']);
    expect((await stores[1].claimNotifications('replica-1', 500, 60_000)).map((m) => m.id)).toEqual(['msg_released']);
  });

  it('polls never-polled followed jobs before those whose lease ended (PostgreSQL sorts NULLs last)', async () => {
    const follow = async (jobId: string) => {
      const requested = draft();
      await stores[0].append(requested);
      await stores[0].append({
        ...completion(requested, { jobId }),
        outbox: { messages: [], follow: { appliance: 'vc-a', jobId, context: '{}' } },
      });
    };
    for (const jobId of ['job-1', 'job-2', 'job-3', 'job-4']) await follow(jobId);
    // Two are polled, with a lease that has ended by the next claim.
    const polled = (await stores[0].claimFollowedJobs('replica-0', 2, 0)).map((job) => job.jobId);
    expect(polled).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The next claim takes the two never polled, not the two polled again.
    const next = (await stores[1].claimFollowedJobs('replica-1', 2, 60_000)).map((job) => job.jobId);
    expect(next.sort()).toEqual(['job-1', 'job-2', 'job-3', 'job-4'].filter((id) => !polled.includes(id)));
  });
});
