import { ApplianceLane } from '../../../src/appliances/appliance-lane.js';

/** A lane's slots and queue, without an appliance: work is whatever the test hands it. */
describe('ApplianceLane', () => {
  const lane = (name: 'run' | 'read', connections: number, queue: number) =>
    new ApplianceLane(name, 'vc-a', connections, queue);

  function gate() {
    let open: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { open, work: async () => opened.then(() => 'done') };
  }

  it('runs as many at once as it has connections, queues the next ones, and refuses beyond the queue, nothing run', async () => {
    const reads = lane('read', 2, 1);
    const first = gate();
    let started = 0;
    const tracked = () => {
      started++;
      return first.work();
    };
    const accepted = [reads.run(tracked), reads.run(tracked), reads.run(tracked)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toBe(2); // the third waits in the queue
    await expect(reads.run(tracked)).rejects.toMatchObject({
      code: 'OVERLOADED',
      status: 503,
      detail:
        'Every connection the gateway keeps to appliance vc-a for reads is busy and the queue is full. Nothing was sent; retry shortly.',
      details: { appliance: 'vc-a', retryAfter: 1 },
    });
    first.open();
    expect(await Promise.all(accepted)).toEqual(['done', 'done', 'done']);
    expect(started).toBe(3);
  });

  it('names the run lane as runs', async () => {
    const runs = lane('run', 1, 0);
    const held = gate();
    const running = runs.run(held.work);
    await expect(runs.run(held.work)).rejects.toMatchObject({ detail: expect.stringMatching(/for runs is busy/) });
    held.open();
    await running;
  });

  it('errors of the work itself pass through unchanged', async () => {
    const failure = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await expect(lane('run', 1, 1).run(() => Promise.reject(failure))).rejects.toBe(failure);
  });
});
