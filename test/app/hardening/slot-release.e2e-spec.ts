import { RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';
import { openRawConnection } from '../../support/raw-http.js';

/**
 * A caller's slots (limits.maxInFlightPerCaller, limits.maxStreamsPerCaller) come back however its request ends:
 * answered, failed, the client gone before the answer, or its socket destroyed while the answer still waited behind
 * another on a pipelined connection (Node never closes such a queued response: only the socket tells). Each test
 * ends a caller's requests one way, then checks that caller still gets its whole budget: exactly `limit` at once,
 * the next one 429.
 */
const REQUESTS = 4;
const STREAMS = 2;
/** limits.maxStreams: the whole gateway's, one more than a caller's (each test's streams must come back to it too). */
const ALL_STREAMS = STREAMS + 1;
const SLOW_PATH = /backup\/schedules$/;
const SLOW_MS = 1500;

describe('caller slots come back however a request ends', () => {
  let world: World;
  let jobId: string;
  let callers = 0;

  beforeAll(async () => {
    world = await startWorld({
      // A job that outlives every test: its event streams stay open until a client or a socket ends them.
      simulatorOptions: { jobDurationMs: 600_000 },
      applianceConfig: { 'vc-a': { timeoutMs: 10_000 } },
      extra: { limits: { maxInFlightPerCaller: REQUESTS, maxStreamsPerCaller: STREAMS, maxStreams: ALL_STREAMS } },
    });
    const runner = await world.idp.token({ ...RUN_AND_READ, sub: 'runner' });
    const run = await fetch(`${world.gateway.url}/appliances/vc-a/backups/schedules/default/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runner}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(run.status).toBe(202);
    jobId = ((await run.json()) as { job: { id: string } }).job.id;
  });
  afterAll(async () => {
    // Ends every stream a failed test may have left open, so the gateway can close.
    world.appliances['vc-a'].finishRunningJobs();
    await world.stop();
  });
  afterEach(() => world.appliances['vc-a'].faults.clear());

  /** A caller of its own per test, so one test's leak cannot pass or fail another. */
  const newCaller = async () => `Bearer ${await world.idp.token({ scope: 'backups:read', sub: `slots-${++callers}` })}`;
  const eventsPath = () => `/appliances/vc-a/backups/jobs/${jobId}/events`;
  const slowReads = () =>
    world.appliances['vc-a'].requests.filter((r) => r.method === 'GET' && SLOW_PATH.test(r.path)).length;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const until = async (what: string, done: () => boolean, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await sleep(10);
    }
  };
  const get = (path: string, auth: string, extra = '') =>
    `GET ${path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${auth}\r\n${extra}\r\n`;

  const open = () => openRawConnection(world.gateway.url);
  const statusLines = (text: string) => [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));

  /** The server learns of closed sockets a moment after the client: let it, before counting slots. */
  const settle = () => sleep(300);

  /** Exactly REQUESTS of this caller's requests at once, and the next one is 429 TOO_MANY_REQUESTS. */
  async function expectFullRequestBudget(auth: string) {
    const sim = world.appliances['vc-a'];
    sim.faults.set({ kind: 'latency', ms: SLOW_MS, path: SLOW_PATH });
    const before = slowReads();
    const held = Array.from({ length: REQUESTS }, () =>
      fetch(`${world.gateway.url}/appliances/vc-a/backups/schedules`, { headers: { authorization: auth } }).then(
        (r) => r.status,
      ),
    );
    const answered: number[] = [];
    for (const status of held) void status.then((s) => answered.push(s));
    // Under way when each has reached the appliance; a refused one answers at once instead.
    await until('every held request is under way, or one was refused', () => {
      return slowReads() - before === REQUESTS || answered.length > 0;
    });
    const next = await fetch(`${world.gateway.url}/appliances/vc-a/backups/schedules`, {
      headers: { authorization: auth },
    });
    const nextBody = (await next.json()) as { code?: string };
    expect(await Promise.all(held)).toEqual(Array(REQUESTS).fill(200));
    expect({ status: next.status, code: nextBody.code }).toEqual({ status: 429, code: 'TOO_MANY_REQUESTS' });
    sim.faults.clear();
  }

  /** Exactly STREAMS event streams of this caller open at once, and the next one is 429; then they are closed. */
  async function expectFullStreamBudget(auth: string) {
    const aborts = Array.from({ length: STREAMS + 1 }, () => new AbortController());
    const open = (abort: AbortController) =>
      fetch(`${world.gateway.url}${eventsPath()}`, { headers: { authorization: auth }, signal: abort.signal });
    try {
      const streams = await Promise.all(aborts.slice(0, STREAMS).map(open));
      expect(streams.map((s) => s.status)).toEqual(Array(STREAMS).fill(200));
      const next = await open(aborts[STREAMS]);
      // A stream (where it should have been refused) never ends: its body is not waited for.
      const code = next.status === 200 ? undefined : ((await next.json()) as { code?: string }).code;
      expect({ status: next.status, code }).toEqual({ status: 429, code: 'TOO_MANY_REQUESTS' });
    } finally {
      for (const abort of aborts) abort.abort();
    }
  }

  it('answered requests and failed ones (4xx, 5xx from the appliance) give their slots back', async () => {
    const auth = await newCaller();
    const sim = world.appliances['vc-a'];
    for (let i = 0; i < REQUESTS * 3; i++) {
      const ok = await fetch(`${world.gateway.url}/appliances/vc-a/backups/schedules`, {
        headers: { authorization: auth },
      });
      expect(ok.status).toBe(200);
      const missing = await fetch(`${world.gateway.url}/appliances/vc-a/backups/jobs/20200101-000000-${i}`, {
        headers: { authorization: auth },
      });
      expect(missing.status).toBe(404);
    }
    sim.faults.set({ kind: 'status', status: 500, path: /backup\/job$/ });
    const failed = await Promise.all(
      Array.from({ length: REQUESTS }, () =>
        fetch(`${world.gateway.url}/appliances/vc-a/backups/jobs`, { headers: { authorization: auth } }),
      ),
    );
    expect(failed.map((r) => r.status)).toEqual(Array(REQUESTS).fill(502));
    sim.faults.clear();
    await expectFullRequestBudget(auth);
  });

  it('requests whose client closes the connection before the answer give their slots back', async () => {
    const auth = await newCaller();
    world.appliances['vc-a'].faults.set({ kind: 'latency', ms: SLOW_MS, path: SLOW_PATH });
    for (let round = 0; round < 3; round++) {
      const before = slowReads();
      const connections = await Promise.all(Array.from({ length: REQUESTS }, () => open()));
      for (const { socket } of connections) socket.write(get('/appliances/vc-a/backups/schedules', auth));
      await until('every request is under way', () => slowReads() - before === REQUESTS);
      for (const { socket } of connections) socket.destroy();
      await Promise.all(connections.map((c) => c.closed));
    }
    world.appliances['vc-a'].faults.clear();
    await settle();
    await expectFullRequestBudget(auth);
  });

  it('a pipeline destroyed after its first answer gives back the slots of the answers still queued behind it', async () => {
    const auth = await newCaller();
    world.appliances['vc-a'].faults.set({ kind: 'latency', ms: SLOW_MS, path: SLOW_PATH });
    for (let round = 0; round < 3; round++) {
      const before = slowReads();
      const { socket, received, closed } = await open();
      // A fast first request, then slow ones: their answers queue behind it on this connection.
      socket.write(
        get('/appliances/vc-a/backups/jobs?limit=1', auth) +
          get('/appliances/vc-a/backups/schedules', auth).repeat(REQUESTS - 1),
      );
      await until('the first answer arrived', () => statusLines(received()).length === 1);
      expect(statusLines(received())).toEqual([200]);
      // A slow one refused for want of a slot (where slots leak) is answered only in its turn, after the slow ones
      // before it: it cannot be seen from here. Give them the time to be taken in.
      await sleep(200);
      if (round === 0) expect(slowReads() - before).toBe(REQUESTS - 1);
      socket.destroy();
      await closed;
    }
    world.appliances['vc-a'].faults.clear();
    await settle();
    await expectFullRequestBudget(auth);
  });

  it('event streams the client closes give their slots back', async () => {
    const auth = await newCaller();
    for (let round = 0; round < 3; round++) {
      const aborts = Array.from({ length: STREAMS }, () => new AbortController());
      try {
        const streams = await Promise.all(
          aborts.map((abort) =>
            fetch(`${world.gateway.url}${eventsPath()}`, { headers: { authorization: auth }, signal: abort.signal }),
          ),
        );
        expect(streams.map((s) => s.status)).toEqual(Array(STREAMS).fill(200));
      } finally {
        for (const abort of aborts) abort.abort();
      }
      await settle();
    }
    await expectFullStreamBudget(auth);
    await settle();
    await expectFullRequestBudget(auth);
  });

  it('event streams whose socket is destroyed give their slots back, the one queued behind another too', async () => {
    const auth = await newCaller();
    for (let round = 0; round < 3; round++) {
      // Alone on its connection: the stream is that connection's current response.
      const alone = await open();
      alone.socket.write(get(eventsPath(), auth));
      await until('the stream started', () => statusLines(alone.received()).length === 1);
      expect(statusLines(alone.received())).toEqual([200]);
      alone.socket.destroy();
      await alone.closed;
      await settle();
      // Pipelined: the second stream never starts, it waits behind the first, which never ends.
      const pair = await open();
      pair.socket.write(get(eventsPath(), auth) + get(eventsPath(), auth));
      await until('the first stream started', () => statusLines(pair.received()).length === 1);
      await sleep(100); // the second has been taken in meanwhile
      expect(statusLines(pair.received())).toEqual([200]);
      pair.socket.destroy();
      await pair.closed;
      await settle();
    }
    await expectFullStreamBudget(auth);
    await settle();
    await expectFullRequestBudget(auth);
  });

  it('the gateway holds at most limits.maxStreams streams of all callers: the next is 503 OVERLOADED until one closes', async () => {
    const callers = await Promise.all([newCaller(), newCaller(), newCaller()]);
    const aborts: AbortController[] = [];
    const open = (auth: string) => {
      const abort = new AbortController();
      aborts.push(abort);
      return fetch(`${world.gateway.url}${eventsPath()}`, { headers: { authorization: auth }, signal: abort.signal });
    };
    try {
      const held = await Promise.all([open(callers[0]), open(callers[0]), open(callers[1])]);
      expect(held.map((s) => s.status)).toEqual(Array(ALL_STREAMS).fill(200));
      const refused = await open(callers[2]);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { code: string }).code).toBe('OVERLOADED');
      aborts[0].abort();
      await settle();
      const next = await open(callers[2]);
      expect(next.status).toBe(200);
    } finally {
      for (const abort of aborts) abort.abort();
    }
  });
});
