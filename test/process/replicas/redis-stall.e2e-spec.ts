import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { API_KEY, APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { sha256Hex } from '../../support/identity-provider.js';
import { describeRedis, startRedis, type TestRedis } from '../../support/redis-server.js';
import { waitFor } from '../../support/wait-for.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef0123456789';

/**
 * A stalled Redis (SIGSTOP) used to add its 1 s command timeout to every authenticated request for as long as it
 * stalled, while a killed one fell back at once. Now every command is bounded and the first timeout makes every
 * caller fall back, once logged, until Redis answers again.
 */
describeRedis('a Redis that stops answering', () => {
  let redis: TestRedis;
  let appliance: ApplianceSimulator;

  beforeAll(async () => {
    redis = await startRedis();
    appliance = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await appliance.start();
  });
  afterAll(async () => {
    await redis.stop();
    await appliance.stop();
  });

  it('costs an authenticated request tens of milliseconds, not a second, and is logged once', async () => {
    const path = writeConfig({
      auth: { apiKeys: [{ id: 'cron', sha256: sha256Hex(API_KEY), scopes: ['backups:read'] }] },
      appliances: [{ id: 'vc-a', url: appliance.url, username: APPLIANCE_USER, password: APPLIANCE_PASSWORD }],
      redis: { url: redis.url },
      metrics: { bearerToken: METRICS_TOKEN },
    });
    const gateway = await spawnGateway(path);
    const read = async () => {
      const started = performance.now();
      const response = await fetch(`${gateway.url}/appliances/vc-a/backups/schedules`, {
        headers: { 'x-api-key': API_KEY },
      });
      expect(response.status).toBe(200);
      return performance.now() - started;
    };
    const available = async () => {
      const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      return /^backup_gateway_redis_available (\d)$/m.exec(await response.text())?.[1];
    };
    const linesWith = (text: string) =>
      gateway
        .output()
        .split('\n')
        .filter((line) => line.includes(text));
    try {
      await waitFor(() => gateway.output().includes('redis connected'), 10_000);
      await read();
      expect(await available()).toBe('1');
      // A busy machine may have cost the start-up one outage already (the connection's ready check timing out).
      const before = linesWith('redis unavailable').length;
      const connected = linesWith('redis connected').length;
      const outageLines = () => linesWith('redis unavailable').slice(before);

      redis.stall();
      // The first read waits out one command timeout (250 ms) and marks Redis stalled; the rest never ask it.
      // Before: every read took a second for as long as Redis stalled.
      expect(await read()).toBeLessThan(750);
      // The next four together take less than what two waits for Redis (250 ms each) would: they no longer wait.
      // (Each is a few milliseconds on a quiet machine; a bound per read measured the machine's load, not this.)
      let fourReads = 0;
      for (let i = 0; i < 4; i++) fourReads += await read();
      expect(fourReads).toBeLessThan(500);
      expect(await available()).toBe('0');
      expect(outageLines()).toHaveLength(1);
      expect(JSON.parse(outageLines()[0])).toMatchObject({ level: 'warn', redis: 'stalled' });

      redis.resume();
      await waitFor(() => linesWith('redis connected').length === connected + 1, 5000);
      expect(await available()).toBe('1');
      expect(await read()).toBeLessThan(300);
      expect(outageLines()).toHaveLength(1);
    } finally {
      redis.resume();
      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
    }
  });
});
