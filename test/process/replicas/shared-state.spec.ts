import { Test, type TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import pino from 'pino';
import { ConfigModule } from '../../../src/config/config.module.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { LoggingModule } from '../../../src/logging/logging.module.js';
import { GatewayMetrics } from '../../../src/metrics/gateway-metrics.js';
import { MetricsModule } from '../../../src/metrics/metrics.module.js';
import { RedisModule } from '../../../src/redis/redis.module.js';
import { REDIS_COMMAND_TIMEOUT_MS, RedisUnavailable, SharedState } from '../../../src/redis/shared-state.js';
import { describeRedis, startRedis, type TestRedis } from '../../support/redis-server.js';
import { waitFor } from '../../support/wait-for.js';

interface Replica {
  state: SharedState;
  /** Every log line, parsed. */
  lines: Record<string, unknown>[];
  available(): Promise<number>;
  close(): Promise<void>;
}

/** One gateway's SharedState, built by Nest from RedisModule as the gateway builds it, with its log lines kept. */
async function replica(redis?: { url: string }): Promise<Replica> {
  const config = parseConfig(
    {
      auth: { apiKeys: [{ id: 'ops', sha256: 'a'.repeat(64), scopes: ['backups:read'] }] },
      appliances: [],
      metrics: { enabled: false },
      ...(redis ? { redis: { url: redis.url, keyPrefix: 'shared-state-test:' } } : {}),
    },
    {},
  );
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const module: TestingModule = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(config),
      LoggingModule.forRoot(logger),
      MetricsModule.forConfig(config),
      RedisModule,
    ],
  }).compile();
  module.enableShutdownHooks();
  const metrics = module.get(GatewayMetrics);
  return {
    state: module.get(SharedState),
    lines,
    available: async () => (await metrics.redisAvailable.get()).values[0]?.value ?? 0,
    close: () => module.close(),
  };
}

const outages = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => String(line.msg).startsWith('redis unavailable'));
const connected = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => String(line.msg).startsWith('redis connected'));

/** A counter that says where it was counted: on Redis (shared) or by the caller alone. */
const count = (state: SharedState, key: string) =>
  state.orAlone(
    async (store) => ({ where: 'redis', count: (await store.countInWindow(key, 60_000)).count }),
    () => ({ where: 'alone', count: 0 }),
  );

describe('SharedState without redis.url', () => {
  it('is not shared: every caller works alone, and nothing may require Redis', async () => {
    const { state, lines, close } = await replica();
    try {
      expect(state.shared).toBe(false);
      let worked = false;
      const answer = await state.orAlone(
        async () => {
          worked = true;
          return 'redis';
        },
        () => 'alone',
      );
      expect(answer).toBe('alone');
      expect(worked).toBe(false);
      await expect(state.required(async () => 'redis')).rejects.toThrow('not shared');
      expect(lines).toEqual([]);
    } finally {
      await close();
    }
  });
});

/**
 * Against a real redis-server, refusing, killed and stalled (SIGSTOP): what may degrade falls back, what may not
 * fails, an outage is logged once however many callers meet it, and Redis answering again brings sharing back.
 */
describeRedis('SharedState on a real Redis', () => {
  let redis: TestRedis;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([replica(redis), replica(redis)]);
    await waitFor(() => connected(a.lines).length === 1 && connected(b.lines).length === 1, 10_000);
  });
  afterAll(async () => {
    redis.resume();
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
  });

  it('while Redis is up, replicas share: one counter, one lease, one taker', async () => {
    expect(a.state.shared).toBe(true);
    expect(await a.available()).toBe(1);
    expect(await count(a.state, 'up:c')).toEqual({ where: 'redis', count: 1 });
    expect(await count(b.state, 'up:c')).toEqual({ where: 'redis', count: 2 });
    const lease = (state: SharedState) => state.required((store) => store.setIfAbsent('up:lease', '1', 5000));
    expect(await lease(a.state)).toBe(true);
    expect(await lease(b.state)).toBe(false);
    await a.state.required((store) => store.set('up:once', 'x', 5000));
    const takes = await Promise.all([a, b].map(({ state }) => state.required((store) => store.take('up:once'))));
    expect(takes.sort()).toEqual(['x', undefined]);
  });

  it('errors that are not Redis’s reach the caller: no fallback, nothing logged', async () => {
    const before = outages(a.lines).length;
    let alone = 0;
    const failing = a.state.orAlone(
      async () => {
        throw new Error('the appliance said no');
      },
      () => alone++,
    );
    await expect(failing).rejects.toThrow('the appliance said no');
    expect(alone).toBe(0);
    expect(outages(a.lines)).toHaveLength(before);
  });

  it('refusing (out of memory): what it refuses falls back, logged once; Redis stays up for the rest', async () => {
    const before = outages(a.lines).length;
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      for (let i = 0; i < 5; i++) expect(await count(a.state, 'oom:c')).toEqual({ where: 'alone', count: 0 });
      const lines = outages(a.lines).slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, redis: 'refused', err: { message: expect.stringMatching(/^OOM/) } });
      expect(await a.available()).toBe(1);
      // What it still answers goes on: a read.
      expect(await a.state.required((store) => store.get('oom:none'))).toBeUndefined();
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
    expect(await count(a.state, 'oom:c')).toEqual({ where: 'redis', count: 1 });
    expect(outages(a.lines).slice(before)).toHaveLength(1);
  });

  it('killed: callers fall back at once, required work fails, one warning per outage; back, it is shared again', async () => {
    // Counted from here: on a busy machine the connection's start may have timed out once already.
    const [before, connectedA, connectedB] = [
      outages(a.lines).length,
      connected(a.lines).length,
      connected(b.lines).length,
    ];
    const since = () => outages(a.lines).slice(before);
    await redis.stop();
    // Before and after the client notices: every call falls back, none throws.
    for (let i = 0; i < 20; i++) expect(await count(a.state, 'kill:c')).toEqual({ where: 'alone', count: 0 });
    await expect(a.state.required((store) => store.get('kill:x'))).rejects.toBeInstanceOf(RedisUnavailable);
    await waitFor(async () => (await a.available()) === 0, 5000);
    // The client retries meanwhile (an error event each time): still one line.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (let i = 0; i < 20; i++) expect((await count(a.state, 'kill:c')).where).toBe('alone');
    expect(since()).toHaveLength(1);
    expect(since()[0]).toMatchObject({ level: 40, redis: 'down' });
    expect(since()[0].msg).toMatch(/fall back to this replica alone/);

    await redis.start();
    await waitFor(
      () => connected(a.lines).length === connectedA + 1 && connected(b.lines).length === connectedB + 1,
      15_000,
    );
    expect(connected(a.lines)[connectedA]).toMatchObject({ redis: 'up', outageMs: expect.any(Number) });
    expect(await a.available()).toBe(1);
    expect(await count(a.state, 'kill:again')).toEqual({ where: 'redis', count: 1 });
    expect(await count(b.state, 'kill:again')).toEqual({ where: 'redis', count: 2 });

    // A second outage is a second line: once per outage, not once ever.
    await redis.stop();
    await waitFor(() => since().length === 2, 5000);
    await redis.start();
    await waitFor(() => connected(a.lines).length === connectedA + 2, 15_000);
  }, 60_000);

  it('stalled: the first call waits out one command timeout, then what may degrade falls back at once until it answers', async () => {
    const before = outages(a.lines).length;
    const reconnects = connected(a.lines).length;
    redis.stall();
    try {
      let started = performance.now();
      expect(await count(a.state, 'stall:c')).toEqual({ where: 'alone', count: 0 });
      const first = performance.now() - started;
      expect(first).toBeGreaterThanOrEqual(REDIS_COMMAND_TIMEOUT_MS - 10);
      expect(first).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + 500);
      started = performance.now();
      for (let i = 0; i < 20; i++) expect((await count(a.state, 'stall:c')).where).toBe('alone');
      // Nobody waits on it any more: twenty calls in far less than one timeout.
      expect(performance.now() - started).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS / 2);
      expect(await a.available()).toBe(0);
      // What may not degrade asks Redis each time (a timeout under load refuses one request, not a second of them).
      started = performance.now();
      await expect(a.state.required((store) => store.get('stall:x'))).rejects.toBeInstanceOf(RedisUnavailable);
      expect(performance.now() - started).toBeGreaterThanOrEqual(REDIS_COMMAND_TIMEOUT_MS - 10);
      const lines = outages(a.lines).slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, redis: 'stalled', timeoutMs: REDIS_COMMAND_TIMEOUT_MS });
    } finally {
      redis.resume();
    }
    // An answer ends the stall for everyone (this one, or the probe's PING, whichever comes first).
    expect(await a.state.required((store) => store.get('stall:x'))).toBeUndefined();
    await waitFor(() => connected(a.lines).length === reconnects + 1, 5000);
    expect(await a.available()).toBe(1);
    expect((await count(a.state, 'stall:c')).where).toBe('redis');
    expect(outages(a.lines).slice(before)).toHaveLength(1);
  }, 30_000);
});
