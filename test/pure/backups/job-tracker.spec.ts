import type { ApplianceRegistry } from '../../../src/appliances/appliance-registry.service.js';
import type { VapiJobStatus } from '../../../src/appliances/vapi-client.js';
import type { GatewayConfig } from '../../../src/config/gateway-config.js';
import { jobTracker } from '../../support/job-tracker.js';

/** The tracker against a fake appliance (the narrow interface it uses: getJob), so polling rules are exact. */
describe('JobTracker', () => {
  let gets: string[];
  /** When the fake appliance was last asked: a status's age counts from there, whatever the machine's load before. */
  let askedAt: number;
  let state: string;
  let answer: (jobId: string) => Promise<VapiJobStatus>;
  const registry = {
    client: () => ({ getJob: (jobId: string) => answer(jobId) }),
  } as unknown as ApplianceRegistry;
  // Without Redis the cluster status polls locally: each tracker is its own replica. Intervals below the config's
  // minimum keep the tests fast, hence a config of the parts the tracker reads.
  const tracker = (pollIntervalMs = 60_000) =>
    jobTracker(registry, { jobs: { pollIntervalMs }, metrics: { enabled: false } } as GatewayConfig);

  beforeEach(() => {
    gets = [];
    state = 'INPROGRESS';
    answer = async (jobId) => {
      askedAt = Date.now();
      gets.push(jobId);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { id: jobId, state, progress: 10 };
    };
  });

  it('concurrent readers of one job share one upstream call', async () => {
    const t = await tracker();
    const statuses = await Promise.all(Array.from({ length: 100 }, () => t.status('vc-a', 'j1')));
    expect(gets).toEqual(['j1']);
    expect(new Set(statuses).size).toBe(1);
  });

  it('a status is reused within the poll interval, then asked for again', async () => {
    // An interval far longer than two reads on a loaded CI machine (one took over 50 ms there): the reuse is the rule
    // under test, not the machine's speed.
    const t = await tracker(400);
    await t.status('vc-a', 'j1');
    await t.status('vc-a', 'j1');
    expect(gets).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, askedAt + 410 - Date.now()));
    await t.status('vc-a', 'j1');
    expect(gets).toHaveLength(2);
  });

  it('a status is as old as the question that got it: asked one interval later, it is asked for again, however slow the appliance', async () => {
    answer = async (jobId) => {
      askedAt = Date.now();
      gets.push(jobId);
      await new Promise((resolve) => setTimeout(resolve, 30));
      return { id: jobId, state, progress: 10 };
    };
    const t = await tracker(60);
    await t.status('vc-a', 'j1');
    // A follower on a 60 ms tick: the answer took 30 ms of that interval, the status is 60 ms old all the same. Timed
    // from the question itself: on a loaded machine the tracker may ask a few ms after the test calls it (CI, once).
    await new Promise((resolve) => setTimeout(resolve, askedAt + 62 - Date.now()));
    await t.status('vc-a', 'j1');
    expect(gets).toHaveLength(2);
  });

  it('a finished job is never asked for again', async () => {
    const t = await tracker(1);
    state = 'SUCCEEDED';
    await t.status('vc-a', 'j1');
    await new Promise((resolve) => setTimeout(resolve, 10));
    await t.status('vc-a', 'j1');
    expect(gets).toHaveLength(1);
  });

  it('a run seeds the job: the first reader gets it without an upstream call', async () => {
    const t = await tracker();
    t.seed('vc-a', { id: 'j2', state: 'INPROGRESS', progress: 0 });
    expect((await t.status('vc-a', 'j2')).progress).toBe(0);
    expect(gets).toEqual([]);
  });

  it('a failed read is not remembered: the next reader asks again', async () => {
    const t = await tracker();
    answer = () => Promise.reject(new Error('down'));
    await expect(t.status('vc-a', 'j3')).rejects.toThrow('down');
    answer = async (jobId) => ({ id: jobId, state: 'INPROGRESS', progress: 1 });
    expect((await t.status('vc-a', 'j3')).progress).toBe(1);
  });

  it('jobs of different appliances are different jobs', async () => {
    const t = await tracker();
    await Promise.all([t.status('vc-a', 'j1'), t.status('vc-b', 'j1')]);
    expect(gets).toEqual(['j1', 'j1']);
  });
});
