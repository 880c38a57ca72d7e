import { type Delivery, failingDeliveries, webhookHealth } from '../../../console/src/pages/webhook-health.js';

let serial = 0;
function delivery(over: Partial<Delivery>): Delivery {
  serial++;
  return {
    id: `msg_${String(serial).padStart(4, '0')}`,
    eventId: `event-${serial}`,
    webhook: 'portal',
    type: 'com.backupgateway.job.failed',
    subject: 'vc-a',
    state: 'pending',
    createdAt: '2026-03-10T08:00:00.000Z',
    nextAttemptAt: '2026-03-10T08:05:00.000Z',
    attempts: 0,
    lastStatus: null,
    lastError: null,
    deliveredAt: null,
    ...over,
  };
}

/** The Notifications page's summary: computed from the deliveries list, per webhook id. */
describe('webhookHealth (console)', () => {
  it('counts pending, retrying and given-up messages per webhook, with the newest error and the oldest pending', () => {
    const pending = [
      delivery({
        webhook: 'chat-ops',
        createdAt: '2026-03-10T08:03:00.000Z',
        attempts: 2,
        lastStatus: 500,
        lastError: 'the receiver answered 500',
      }),
      delivery({
        webhook: 'chat-ops',
        createdAt: '2026-03-10T08:01:00.000Z',
        attempts: 3,
        lastStatus: null,
        lastError: 'no answer in 10 s',
      }),
      delivery({ webhook: 'portal', createdAt: '2026-03-10T08:04:00.000Z', attempts: 0 }),
    ];
    const failed = [
      delivery({
        webhook: 'chat-ops',
        state: 'failed',
        createdAt: '2026-03-09T08:00:00.000Z',
        attempts: 30,
        lastStatus: 503,
        lastError: 'the receiver answered 503',
      }),
      delivery({
        webhook: 'legacy',
        state: 'failed',
        createdAt: '2026-03-08T08:00:00.000Z',
        attempts: 1,
        lastError: 'the webhook is no longer configured',
      }),
    ];
    const health = webhookHealth({ items: pending, complete: true }, { items: failed, complete: true });
    expect(health).toEqual([
      {
        webhook: 'chat-ops',
        pending: 2,
        retrying: 2,
        failed: 1,
        complete: true,
        // The newest message's error, not the first one read.
        lastError: { text: 'the receiver answered 500', status: 500, createdAt: '2026-03-10T08:03:00.000Z' },
        oldestPendingAt: '2026-03-10T08:01:00.000Z',
      },
      {
        webhook: 'legacy',
        pending: 0,
        retrying: 0,
        failed: 1,
        complete: true,
        lastError: { text: 'the webhook is no longer configured', status: null, createdAt: '2026-03-08T08:00:00.000Z' },
        oldestPendingAt: null,
      },
      // Only waiting for its first attempt: not failing, listed last.
      expect.objectContaining({ webhook: 'portal', pending: 1, retrying: 0, failed: 0, lastError: null }),
    ]);
  });

  it('says its counts are lower bounds when a list was read only up to its cap', () => {
    const health = webhookHealth(
      { items: [delivery({ attempts: 1, lastError: 'x' })], complete: false },
      { items: [], complete: true },
    );
    expect(health.map((h) => h.complete)).toEqual([false]);
  });

  it('lists the deliveries tried and not delivered, and those given up on, newest first; not those never tried', () => {
    const neverTried = delivery({ createdAt: '2026-03-10T08:09:00.000Z', attempts: 0 });
    const retrying = delivery({
      createdAt: '2026-03-10T08:02:00.000Z',
      attempts: 1,
      lastError: 'the receiver answered 500',
    });
    const givenUp = delivery({ state: 'failed', createdAt: '2026-03-10T08:05:00.000Z', attempts: 20, lastError: 'x' });
    const list = failingDeliveries(
      { items: [neverTried, retrying], complete: true },
      { items: [givenUp], complete: true },
    );
    expect(list.map((d) => d.id)).toEqual([givenUp.id, retrying.id]);
  });
});
