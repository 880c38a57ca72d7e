import { PostgresAuditStore } from '../../../src/audit/store/postgres-audit-store.js';
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
    expect(await stores[1].settleNotification(first, 'replica-1', { outcome: 'delivered', status: 200 })).toBe(false);
    expect(await stores[0].settleNotification(first, 'replica-0', { outcome: 'delivered', status: 204 })).toBe(true);
    const [row] = await stores[1].listNotifications({ state: 'delivered' }, { limit: 10 });
    expect(row).toEqual(expect.objectContaining({ id: first, attempts: 1, lastStatus: 204, state: 'delivered' }));
  });
});
