import type { ApplianceRegistry } from '../../../src/appliances/appliance-registry.service.js';
import type { VapiJobStatus } from '../../../src/appliances/vapi-client.js';
import type { JobTracker } from '../../../src/backups/job-tracker.service.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { jobTracker } from '../../support/job-tracker.js';
import { describeRedis, startRedis, type TestRedis } from '../../support/redis-server.js';

const INTERVAL_MS = 200;
const ANSWER_MS = 150;

/**
 * Job status shared by replicas through a real Redis (ClusterJobStatus): two trackers (two replicas) in front of one
 * slow fake appliance, each asked every interval. The appliance is asked once per interval for both, and the shared
 * status is fresh for one interval from when the appliance was asked, not from when it answered.
 */
describeRedis('job status shared through Redis', () => {
  let redis: TestRedis;
  let gets: number[];
  let replicas: JobTracker[];

  beforeAll(async () => {
    redis = await startRedis();
    gets = [];
    const registry = {
      has: () => true,
      client: () => ({
        config: { timeoutMs: 1000 },
        getJob: async (jobId: string): Promise<VapiJobStatus> => {
          gets.push(Date.now());
          await new Promise((resolve) => setTimeout(resolve, ANSWER_MS));
          return { id: jobId, state: 'INPROGRESS', progress: 10 };
        },
      }),
    } as unknown as ApplianceRegistry;
    const config = parseConfig(
      {
        auth: { apiKeys: [{ id: 'ops', sha256: 'a'.repeat(64), scopes: ['backups:read'] }] },
        appliances: [],
        metrics: { enabled: false },
        jobs: { pollIntervalMs: INTERVAL_MS },
        redis: { url: redis.url, keyPrefix: `job-status-test-${process.pid}:` },
      },
      {},
    );
    replicas = await Promise.all([jobTracker(registry, config), jobTracker(registry, config)]);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('asks the appliance once per interval for every replica, and again as soon as an interval has passed', async () => {
    // Until each replica's connection to Redis is up, it polls alone (as during an outage).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    gets.length = 0;
    const started = Date.now();
    // Each replica asks every 50 ms for 10 intervals.
    while (Date.now() - started < 10 * INTERVAL_MS) {
      await Promise.all(replicas.map((replica) => replica.status('vc-a', 'j1')));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const gaps = gets.slice(1).map((at, i) => at - gets[i]);
    // Never twice within an interval, whichever replica asked...
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(INTERVAL_MS - 5);
    // ...and not one interval plus the appliance's answer time either: counted from the answer, the status would stay
    // fresh until 350 ms after each question, and no two questions could be closer than that.
    gaps.sort((a, b) => a - b);
    expect(gaps[Math.floor(gaps.length / 2)]).toBeLessThan(INTERVAL_MS + ANSWER_MS);
  });
});
