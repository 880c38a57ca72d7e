/**
 * With `redis.url`, console sessions and login transactions live in Redis: two replicas share them, logout on one
 * ends the session on both, the keys are digests, the values sealed (whatever the sign-in method), login
 * transactions bounded apart from sessions, and a Redis that stops answering refuses sessions with a 503 rather than
 * letting each replica make up its own.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { CONSOLE_STORE, type ConsoleStore } from '../../../src/console/console-store.js';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { LAB_API_KEY } from '../../support/console/console-world.js';
import {
  API_AUDIENCE,
  CONSOLE_CLIENT_ID,
  CONSOLE_CLIENT_SECRET,
  TestOpenIdProvider,
} from '../../support/console/test-openid-provider.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { startGateway, type TestGateway } from '../../support/gateway.js';
import { sha256Hex } from '../../support/identity-provider.js';
import { describeRedis, startRedis, type TestRedis } from '../../support/redis-server.js';

/** Where the load balancer in front of both replicas is reached: the one origin the console has. */
const PUBLIC_URL = 'http://localhost:39999';
const HEADERS = { 'x-console-request': '1', origin: PUBLIC_URL };

/** Login floods come through the trusted proxy (the test, on loopback) from these clients. */
const FLOODER = '198.51.100.7';

/**
 * Statuses of `count` GET /console/login, `parallel` at a time, the i-th from `address(i)` on `gateway(i)`; the
 * refusals' problem codes counted (`codes`), and the first body of each status and of each code.
 */
async function floodLogins(
  count: number,
  gateway: (i: number) => TestGateway,
  address: (i: number) => string,
  parallel = 32,
): Promise<{
  statuses: Record<number, number>;
  codes: Record<string, number>;
  bodies: Map<number | string, Record<string, unknown>>;
}> {
  const statuses = new Map<number, number>();
  const codes = new Map<string, number>();
  const bodies = new Map<number | string, Record<string, unknown>>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const response = await fetch(`${gateway(i).url}/console/login`, {
        redirect: 'manual',
        headers: { 'x-forwarded-for': address(i) },
      });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === 303) {
        await response.arrayBuffer();
        continue;
      }
      const body: Record<string, unknown> = {
        ...((await response.json()) as Record<string, unknown>),
        retryAfter: response.headers.get('retry-after'),
      };
      const code = String(body.code);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      for (const key of [response.status, code]) if (!bodies.has(key)) bodies.set(key, body);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { statuses: Object.fromEntries(statuses), codes: Object.fromEntries(codes), bodies };
}

/** Every key under `pattern`, with its time to live (ms; -1: none). */
async function keysWithTtl(client: Redis, pattern: string): Promise<Map<string, number>> {
  const keys = await client.keys(pattern);
  return new Map(await Promise.all(keys.map(async (key) => [key, await client.pttl(key)] as const)));
}

describeRedis('console sessions in Redis, shared by replicas', () => {
  let redis: TestRedis;
  let provider: TestOpenIdProvider;
  let replicas: TestGateway[];

  beforeAll(async () => {
    [redis, provider] = await Promise.all([startRedis(), new TestOpenIdProvider({ users: {} }).start()]);
    provider.register([PUBLIC_URL]);
    const document = {
      auth: {
        jwt: { issuer: provider.issuer, audience: API_AUDIENCE, jwksUri: `${provider.issuer}/jwks` },
        apiKeys: [{ id: 'lab', sha256: sha256Hex(LAB_API_KEY), scopes: ['backups:read'] }],
      },
      appliances: [],
      trustedProxies: ['127.0.0.1'],
      redis: { url: redis.url, keyPrefix: 'console-test:' },
      console: {
        publicUrl: PUBLIC_URL,
        apiKeyLogin: true,
        oidc: { issuer: provider.issuer, clientId: CONSOLE_CLIENT_ID, clientSecret: CONSOLE_CLIENT_SECRET },
      },
    };
    replicas = [await startGateway(document), await startGateway(document)];
    await waitForRedis(replicas);
  }, 30_000);

  afterAll(async () => {
    await Promise.all((replicas ?? []).map((replica) => replica.close()));
    await provider?.stop();
    await redis?.stop();
  });

  it('a session opened on one replica works on the other; logout on either ends it on both', async () => {
    const [a, b] = replicas;
    const login = await fetch(`${a.url}/console/api-key-session`, {
      method: 'POST',
      headers: { ...HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: LAB_API_KEY }),
    });
    const cookie = login.headers.getSetCookie()[0].split(';')[0];
    const id = cookie.split('=')[1];
    expect((await fetch(`${b.url}/appliances`, { headers: { ...HEADERS, cookie } })).status).toBe(200);

    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('console-test:console:*');
      expect(keys).toEqual([expect.stringMatching(/^console-test:console:session:[A-Za-z0-9_-]{43}$/)]);
      expect(keys[0]).not.toContain(id);
      const stored = (await client.get(keys[0])) as string;
      expect(stored).not.toContain(id);
      // Sealed (AES-GCM under a key from the client secret): not even the subject or the scopes in the clear.
      expect(stored).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
      expect(stored).not.toContain('apikey:lab');
      expect(await client.pttl(keys[0])).toBeGreaterThan(29 * 60_000);
    } finally {
      client.disconnect();
    }

    expect((await fetch(`${b.url}/console/logout`, { method: 'POST', headers: { ...HEADERS, cookie } })).status).toBe(
      200,
    );
    expect((await fetch(`${a.url}/appliances`, { headers: { ...HEADERS, cookie } })).status).toBe(401);
  });

  it('a session record written into Redis by someone else, or moved to another key, is no session', async () => {
    const [a] = replicas;
    const client = new Redis(redis.url);
    try {
      // A forged record with every scope, under the digest of an id the forger chose.
      const chosen = 'f'.repeat(43);
      const forgedKey = `console-test:console:session:${createHash('sha256').update(chosen).digest('base64url')}`;
      const now = Date.now();
      const record = {
        v: 1,
        via: 'apiKey',
        subject: 'mallory',
        scopes: ['backups:run'],
        createdAt: now,
        lastSeenAt: now,
      };
      await client.set(forgedKey, JSON.stringify(record), 'PX', 60_000);
      const forged = await fetch(`${a.url}/appliances`, { headers: { ...HEADERS, cookie: `bg-session=${chosen}` } });
      expect(forged.status).toBe(401);

      // A real sealed record, copied under the forger's key: sealed to its own key, it does not open there.
      const login = await fetch(`${a.url}/console/api-key-session`, {
        method: 'POST',
        headers: { ...HEADERS, 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: LAB_API_KEY }),
      });
      const id = login.headers.getSetCookie()[0].split(';')[0].split('=')[1];
      const realKey = `console-test:console:session:${createHash('sha256').update(id).digest('base64url')}`;
      await client.set(forgedKey, (await client.get(realKey)) as string, 'PX', 60_000);
      const moved = await fetch(`${a.url}/appliances`, { headers: { ...HEADERS, cookie: `bg-session=${chosen}` } });
      expect(moved.status).toBe(401);
      expect((await fetch(`${a.url}/appliances`, { headers: { ...HEADERS, cookie: `bg-session=${id}` } })).status).toBe(
        200,
      );
    } finally {
      client.disconnect();
    }
  });

  it('a login started on one replica can finish on the other (the transaction is in Redis, used once)', async () => {
    const [a, b] = replicas;
    const start = await fetch(`${a.url}/console/login`, { redirect: 'manual' });
    expect(start.status).toBe(303);
    const loginCookie = start.headers.getSetCookie()[0].split(';')[0];
    // The state the login started with: it names the login's cookie.
    const state = new URL(start.headers.get('location') as string).searchParams.get('state') as string;
    const callback = (replica: TestGateway) =>
      fetch(
        `${replica.url}/console/callback?code=not-a-code&state=${state}&iss=${encodeURIComponent(provider.issuer)}`,
        { redirect: 'manual', headers: { cookie: loginCookie } },
      );
    // Found on B (the code exchange then fails: this code was never issued); gone once used.
    expect((await callback(b)).headers.get('location')).toBe('/console/#/signed-out?reason=login-failed');
    expect((await callback(a)).headers.get('location')).toBe('/console/#/signed-out?reason=login-expired');
  });

  it('a flood of logins from one address, on both replicas: a bounded number of keys, sessions live on', async () => {
    const [a, b] = replicas;
    const login = await fetch(`${a.url}/console/api-key-session`, {
      method: 'POST',
      headers: { ...HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: LAB_API_KEY }),
    });
    const cookie = login.headers.getSetCookie()[0].split(';')[0];

    const { statuses, bodies } = await floodLogins(
      2_000,
      (i) => replicas[i % 2],
      () => FLOODER,
    );

    // The replicas count the address together: loginsPerAddressPerMinute (30) in all, not per replica. The rest are
    // refused: 429, or 503 for the few whose Redis command outlived its 250 ms bound while 2,000 logins and two
    // replicas share two busy cores (the console waits for Redis, never falls back). Never a login beyond 30.
    const { 303: admitted, 429: limited = 0, 503: unavailable = 0, ...other } = statuses;
    expect({ admitted, other }).toEqual({ admitted: 30, other: {} });
    expect(limited + unavailable).toBe(1_970);
    expect(unavailable).toBeLessThan(100);
    expect(bodies.get(429)).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.stringMatching(/^\d+$/) });
    const client = new Redis(redis.url);
    try {
      const keys = await keysWithTtl(client, 'console-test:console:login:*');
      const count = (part: string) => [...keys.keys()].filter((key) => key.includes(`:login:${part}`)).length;
      expect(count('tx:')).toBe(30);
      // Besides them: the set of all transactions, the flooder's set, and the rate counters of the flooder and of
      // the address that started a login in the test before.
      expect([count('all'), count('addr:'), count('rate:')]).toEqual([1, 1, 2]);
      expect(keys.size).toBe(34);
      for (const [key, ttl] of keys) {
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(key.includes(':rate:') ? 60_000 : 300_000);
        // Addresses appear only as keyed digests.
        expect(key).not.toContain(FLOODER);
      }
      expect(await client.zcard('console-test:console:login:all')).toBe(30);
    } finally {
      client.disconnect();
    }
    expect((await fetch(`${b.url}/appliances`, { headers: { ...HEADERS, cookie } })).status).toBe(200);
    expect(await (await fetch(`${b.url}/console/session`, { headers: { ...HEADERS, cookie } })).json()).toMatchObject({
      signedIn: true,
    });
    // Another address still starts its login.
    expect((await fetch(`${a.url}/console/login`, { redirect: 'manual' })).status).toBe(303);
  }, 60_000);

  it('a session written back after a logout stays ended: updates only replace a session Redis still holds', async () => {
    const [a, b] = replicas;
    const login = await fetch(`${a.url}/console/api-key-session`, {
      method: 'POST',
      headers: { ...HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: LAB_API_KEY }),
    });
    const id = login.headers.getSetCookie()[0].split(';')[0].split('=')[1];
    const key = `session:${createHash('sha256').update(id).digest('base64url')}`;
    // Replica A's own store (sealed, in Redis), as its sessions write back a record they read earlier.
    const store = a.app.get<ConsoleStore>(CONSOLE_STORE);
    const record = (await store.get(key)) as string;
    expect(await store.update(key, record, 60_000)).toBe(true);
    const client = new Redis(redis.url);
    try {
      expect(await client.pttl(`console-test:console:${key}`)).toBeLessThanOrEqual(60_000);
      // Replica B logs out; A's write-back of what it read before finds nothing to update, and writes nothing.
      expect(
        (
          await fetch(`${b.url}/console/logout`, {
            method: 'POST',
            headers: { ...HEADERS, cookie: `bg-session=${id}` },
          })
        ).status,
      ).toBe(200);
      expect(await store.update(key, record, 60_000)).toBe(false);
      expect(await client.exists(`console-test:console:${key}`)).toBe(0);
    } finally {
      client.disconnect();
    }
    expect((await fetch(`${a.url}/appliances`, { headers: { ...HEADERS, cookie: `bg-session=${id}` } })).status).toBe(
      401,
    );
  });

  it('when Redis stops answering, session requests get 503 (not a per-replica session), API keys still work', async () => {
    const [a] = replicas;
    await redis.stop();
    const cookie = `bg-session=${'x'.repeat(43)}`;
    const refused = await fetch(`${a.url}/appliances`, { headers: { ...HEADERS, cookie } });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe('SERVICE_UNAVAILABLE');
    expect((await fetch(`${a.url}/appliances`, { headers: { 'x-api-key': LAB_API_KEY } })).status).toBe(200);
    // Back, so that the replicas' clients reconnect and close cleanly.
    await redis.start();
  });
});

/** Both replicas' Redis connections are up (they connect in the background). */
async function waitForRedis(replicas: TestGateway[]): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (replicas.every((replica) => replica.logs.some((line) => line.includes('"redis":"up"')))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the replicas did not connect to Redis');
}

describeRedis('console login transactions in Redis, bounded in all', () => {
  let redis: TestRedis;
  let provider: TestOpenIdProvider;
  let gateway: TestGateway;

  beforeAll(async () => {
    [redis, provider] = await Promise.all([startRedis(), new TestOpenIdProvider({ users: {} }).start()]);
    provider.register([PUBLIC_URL]);
    gateway = await startGateway({
      auth: { jwt: { issuer: provider.issuer, audience: API_AUDIENCE, jwksUri: `${provider.issuer}/jwks` } },
      appliances: [],
      trustedProxies: ['127.0.0.1'],
      redis: { url: redis.url, keyPrefix: 'bounded-test:' },
      console: {
        publicUrl: PUBLIC_URL,
        oidc: { issuer: provider.issuer, clientId: CONSOLE_CLIENT_ID, clientSecret: CONSOLE_CLIENT_SECRET },
        maxPendingLogins: 40,
        pendingLoginsPerAddress: 5,
        loginsPerAddressPerMinute: 1_000,
      },
    });
    await waitForRedis([gateway]);
  }, 30_000);

  afterAll(async () => {
    await gateway?.close();
    await provider?.stop();
    await redis?.stop();
  });

  it('10 logins from each of 100 addresses: 40 transactions, 5 per address, then 429 or 503; finishing one frees it', async () => {
    const login = (address: string) =>
      fetch(`${gateway.url}/console/login`, { redirect: 'manual', headers: { 'x-forwarded-for': address } });
    const first = await login('192.0.2.50');
    expect(first.status).toBe(303);
    const { statuses, codes, bodies } = await floodLogins(
      1_000,
      () => gateway,
      (i) => `203.0.113.${Math.floor(i / 10)}`,
      8,
    );
    // The 39 places left go to logins. A Redis command that outlives its 250 ms bound on a busy CI machine is
    // refused 503 SERVICE_UNAVAILABLE, yet Redis may have run it: that place is held until its transaction expires,
    // without a login. So as many fewer logins as such refusals at most, never more than 39.
    const { RATE_LIMITED: limited = 0, OVERLOADED: full = 0, SERVICE_UNAVAILABLE: unanswered = 0, ...other } = codes;
    expect(other).toEqual({});
    expect(statuses[303]).toBeLessThanOrEqual(39);
    expect(statuses[303]).toBeGreaterThanOrEqual(39 - unanswered);
    expect(unanswered).toBeLessThan(50);
    expect(statuses[303] + limited + full + unanswered).toBe(1_000);
    expect(bodies.get('RATE_LIMITED')).toMatchObject({ status: 429 });
    expect(bodies.get('OVERLOADED')).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });

    const client = new Redis(redis.url);
    try {
      const keys = await keysWithTtl(client, 'bounded-test:console:login:*');
      const count = (part: string) => [...keys.keys()].filter((key) => key.includes(`:login:${part}`)).length;
      expect(count('tx:')).toBe(40);
      expect(await client.zcard('bounded-test:console:login:all')).toBe(40);
      // A set per address holding a transaction; a rate counter per address seen this minute (the 100 and the first).
      expect(count('addr:')).toBeLessThanOrEqual(40);
      expect(count('rate:')).toBe(101);
      for (const ttl of keys.values()) expect(ttl).toBeGreaterThan(0);
    } finally {
      client.disconnect();
    }

    // Full: a new address is refused until a transaction ends. Its callback ends one, and its place is free again.
    expect((await login('192.0.2.1')).status).toBe(503);
    const state = new URL(first.headers.get('location') as string).searchParams.get('state') as string;
    const callback = await fetch(`${gateway.url}/console/callback?code=x&state=${state}&iss=${provider.issuer}`, {
      redirect: 'manual',
      headers: { cookie: first.headers.getSetCookie()[0].split(';')[0] },
    });
    expect(callback.headers.get('location')).toBe('/console/#/signed-out?reason=login-failed');
    expect((await login('192.0.2.1')).status).toBe(303);
    expect((await login('192.0.2.2')).status).toBe(503);
  }, 60_000);
});

describeRedis('API-key sign-in with sessions in Redis: sealed with console.sessionSecret', () => {
  const SESSION_SECRET = 'a-console-session-secret-0123456789abcdef';
  let redis: TestRedis;
  let appliance: ApplianceSimulator;
  let gateway: TestGateway;

  beforeAll(async () => {
    redis = await startRedis();
    appliance = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await appliance.start();
    gateway = await startGateway(
      {
        auth: { apiKeys: [{ id: 'lab', sha256: sha256Hex(LAB_API_KEY), scopes: ['backups:read'] }] },
        appliances: [{ id: 'vc-a', url: appliance.url, username: '${VC_USER}', password: '${VC_PASSWORD}' }],
        redis: { url: redis.url, keyPrefix: 'apikey-test:' },
        console: { apiKeyLogin: true, sessionSecret: SESSION_SECRET },
      },
      { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD },
    );
    await waitForRedis([gateway]);
  }, 30_000);

  afterAll(async () => {
    await gateway?.close();
    await appliance?.stop();
    await redis?.stop();
  });

  it('a session record with every scope written straight into Redis is no session: nothing runs', async () => {
    const headers = { 'x-console-request': '1', origin: gateway.url };
    const client = new Redis(redis.url);
    try {
      const chosen = 'm'.repeat(43);
      const now = Date.now();
      const forged = {
        v: 2,
        via: 'apiKey',
        caller: 'apikey:mallory',
        name: 'Mallory',
        clientId: 'mallory',
        scopes: ['backups:run', 'backups:read', 'audit:read'],
        createdAt: now,
        lastSeenAt: now,
      };
      await client.set(
        `apikey-test:console:session:${createHash('sha256').update(chosen).digest('base64url')}`,
        JSON.stringify(forged),
        'PX',
        60_000,
      );
      const cookie = `bg-session=${chosen}`;
      const runs = appliance.counters.runs;
      const run = await fetch(`${gateway.url}/appliances/vc-a/backups/schedules/default/run`, {
        method: 'POST',
        headers: { ...headers, cookie, 'content-type': 'application/json', 'idempotency-key': 'forged-run-1' },
        body: JSON.stringify({ comment: 'forged' }),
      });
      expect(run.status).toBe(401);
      expect((await fetch(`${gateway.url}/appliances`, { headers: { ...headers, cookie } })).status).toBe(401);
      expect(
        await (await fetch(`${gateway.url}/console/session`, { headers: { ...headers, cookie } })).json(),
      ).toMatchObject({
        signedIn: false,
      });
      expect(appliance.counters.runs).toBe(runs);

      // A real session is sealed the same way, and works.
      const login = await fetch(`${gateway.url}/console/api-key-session`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: LAB_API_KEY }),
      });
      const real = login.headers.getSetCookie()[0].split(';')[0];
      const id = real.split('=')[1];
      const stored = (await client.get(
        `apikey-test:console:session:${createHash('sha256').update(id).digest('base64url')}`,
      )) as string;
      expect(stored).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
      expect(stored).not.toContain('apikey:lab');
      expect((await fetch(`${gateway.url}/appliances`, { headers: { ...headers, cookie: real } })).status).toBe(200);
    } finally {
      client.disconnect();
    }
  });
});

describeRedis('API-key sessions in Redis follow the key through restarts', () => {
  const SESSION_SECRET = 'a-console-session-secret-0123456789abcdef';
  const OTHER_KEY = 'bgk_other_console_key_0123456789abcdef01234';
  let redis: TestRedis;
  let appliance: ApplianceSimulator;
  let gateway: TestGateway | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    appliance = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await appliance.start();
  }, 30_000);

  afterAll(async () => {
    await gateway?.close();
    await appliance?.stop();
    await redis?.stop();
  });

  /** The gateway (again), with these API keys and API-key sign-in on or off; sessions kept in the same Redis. */
  async function restart(apiKeys: Record<string, unknown>[], apiKeyLogin = true): Promise<TestGateway> {
    await gateway?.close();
    gateway = await startGateway(
      {
        auth: { apiKeys },
        appliances: [{ id: 'vc-a', url: appliance.url, username: '${VC_USER}', password: '${VC_PASSWORD}' }],
        redis: { url: redis.url, keyPrefix: 'apikey-restart-test:' },
        console: { apiKeyLogin, sessionSecret: SESSION_SECRET },
      },
      { VC_USER: APPLIANCE_USER, VC_PASSWORD: APPLIANCE_PASSWORD },
    );
    await waitForRedis([gateway]);
    return gateway;
  }

  const lab = (scopes: string[], key = LAB_API_KEY) => ({ id: 'lab', sha256: sha256Hex(key), scopes });
  const other = { id: 'other', sha256: sha256Hex(OTHER_KEY), scopes: ['backups:read'] };

  it('a key that lost scopes takes them from its sessions; a key removed or replaced, or sign-in off, ends them', async () => {
    const open = async (current: TestGateway) => {
      const login = await fetch(`${current.url}/console/api-key-session`, {
        method: 'POST',
        headers: { 'x-console-request': '1', origin: current.url, 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: LAB_API_KEY }),
      });
      expect(login.status).toBe(200);
      return login.headers.getSetCookie()[0].split(';')[0];
    };
    const as = (current: TestGateway, cookie: string) => ({ 'x-console-request': '1', origin: current.url, cookie });
    const session = async (current: TestGateway, cookie: string) =>
      (await (await fetch(`${current.url}/console/session`, { headers: as(current, cookie) })).json()) as {
        signedIn: boolean;
        scopes?: string[];
      };
    const run = (current: TestGateway, cookie: string, attempt: string) =>
      fetch(`${current.url}/appliances/vc-a/backups/schedules/default/run`, {
        method: 'POST',
        headers: { ...as(current, cookie), 'content-type': 'application/json', 'idempotency-key': attempt },
        body: JSON.stringify({ comment: 'api-key session after a restart' }),
      });

    let current = await restart([lab(['backups:read', 'backups:run']), other]);
    const cookie = await open(current);
    expect(await session(current, cookie)).toMatchObject({ signedIn: true, scopes: ['backups:read', 'backups:run'] });

    // Restarted with the key narrowed to backups:read (and given audit:read, which the session never had).
    current = await restart([lab(['backups:read', 'audit:read']), other]);
    expect(await session(current, cookie)).toMatchObject({ signedIn: true, scopes: ['backups:read'] });
    const runs = appliance.counters.runs;
    expect((await run(current, cookie, 'narrowed-1')).status).toBe(403);
    expect((await fetch(`${current.url}/audit/events`, { headers: as(current, cookie) })).status).toBe(403);
    expect((await fetch(`${current.url}/appliances`, { headers: as(current, cookie) })).status).toBe(200);
    expect(appliance.counters.runs).toBe(runs);
    // Given its scope back, the key gives it back: the session has what its key has now, never more than at login.
    current = await restart([lab(['backups:read', 'backups:run', 'audit:read']), other]);
    expect(await session(current, cookie)).toMatchObject({ signedIn: true, scopes: ['backups:read', 'backups:run'] });
    expect((await run(current, cookie, 'widened-1')).status).toBe(202);

    // Restarted without the key: the session ends, and stays ended when the key comes back.
    current = await restart([other]);
    expect((await fetch(`${current.url}/appliances`, { headers: as(current, cookie) })).status).toBe(401);
    expect(await session(current, cookie)).toMatchObject({ signedIn: false });
    expect(current.logs.join('\n')).toContain('its API key, or API-key sign-in, is no longer configured');
    current = await restart([lab(['backups:read', 'backups:run']), other]);
    expect(await session(current, cookie)).toMatchObject({ signedIn: false });

    // The key replaced under the same id (rotated after a leak): sessions opened with the old one end.
    const rotated = await open(current);
    current = await restart([lab(['backups:read', 'backups:run'], 'bgk_rotated_console_key_0123456789abcdef0'), other]);
    expect(await session(current, rotated)).toMatchObject({ signedIn: false });

    // API-key sign-in turned off: every session it opened ends.
    current = await restart([lab(['backups:read', 'backups:run']), other]);
    const last = await open(current);
    current = await restart([lab(['backups:read', 'backups:run']), other], false);
    expect((await fetch(`${current.url}/appliances`, { headers: as(current, last) })).status).toBe(401);
    for (const line of current.logs) expect(line).not.toContain(LAB_API_KEY);
  }, 60_000);
});
