import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { VapiClient } from '../../../src/appliances/vapi-client.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { createLogger } from '../../../src/logging/logger.js';
import { GatewayMetrics } from '../../../src/metrics/gateway-metrics.js';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { waitFor } from '../../support/wait-for.js';

const USER = 'svc-backup@vsphere.local';
const PASSWORD = 's3cret:with:colons';
const RUN_PATH = '/api/appliance/recovery/backup/schedules/default?action=run';
const JOBS_PATH = '/api/appliance/recovery/backup/job';

/**
 * The vAPI client against the appliance simulator over loopback HTTP: sessions, replays, retries, error mapping and
 * shutdown as the appliance sees them (its counters and request log).
 */
describe('VapiClient', () => {
  let sim: ApplianceSimulator;
  let logs: Record<string, unknown>[] = [];
  const clients: VapiClient[] = [];
  /** Each client's own metrics registry, to read what it counted. */
  const metricsOf = new Map<VapiClient, GatewayMetrics>();

  beforeEach(async () => {
    sim = new ApplianceSimulator({ username: USER, password: PASSWORD, jobDurationMs: 60_000 });
    await sim.start();
    logs = [];
  });
  afterEach(async () => {
    await sim.stop();
    await Promise.all(clients.splice(0).map((c) => c.close(0)));
  });

  function client(appliance: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): VapiClient {
    const config = parseConfig(
      {
        auth: { apiKeys: [{ id: 'unused', sha256: '0'.repeat(64), scopes: [] }] },
        appliances: [{ id: 'vc-a', url: sim.url, username: USER, password: PASSWORD, timeoutMs: 2000, ...appliance }],
        ...rest,
      },
      {},
    );
    const logger = createLogger('info', {
      write: (line: string) => void logs.push(JSON.parse(line)),
    } as pino.DestinationStream);
    const metrics = new GatewayMetrics(config);
    const created = new VapiClient(config.appliances[0], logger, config.breaker, config.limits, metrics);
    metricsOf.set(created, metrics);
    clients.push(created);
    return created;
  }

  const requestsTo = (method: string, path: string) =>
    sim.requests.filter((r) => r.method === method && r.path === path);

  describe('calls', () => {
    it('runs a schedule: logs in with Basic credentials, then POSTs the run with the session, comment and request id', async () => {
      const vc = client();
      const job = await vc.runSchedule('default', 'before the upgrade', 'req-42');
      expect(job).toMatchObject({ id: expect.any(String), state: 'INPROGRESS' });
      const [login] = requestsTo('POST', '/api/session');
      expect(login.headers.authorization).toBe(`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`);
      const [run] = requestsTo('POST', RUN_PATH);
      expect(run.json).toEqual({ comment: 'before the upgrade' });
      expect(run.headers['content-type']).toBe('application/json');
      expect(run.headers['x-request-id']).toBe('req-42');
      expect(run.headers['vmware-api-session-id']).toMatch(/^[0-9a-f]{32}$/);
      expect(run.headers.accept).toBe('application/json');
      expect(sim.startedJobs()).toEqual([expect.objectContaining({ id: job.id, schedule: 'default' })]);
      expect(logs).toContainEqual(expect.objectContaining({ appliance: 'vc-a', msg: 'appliance session created' }));
    });

    it('a run without a comment sends no body; without a request id it sends none', async () => {
      await client().runSchedule('default', undefined);
      const [run] = requestsTo('POST', RUN_PATH);
      expect(run.body).toBe('');
      expect(run.headers['content-type']).not.toBe('application/json');
      expect(run.headers).not.toHaveProperty('x-request-id');
    });

    it('path parameters are percent-encoded: a schedule id cannot reach another resource', async () => {
      await expect(client().runSchedule('a/b c', undefined)).rejects.toMatchObject({ code: 'SCHEDULE_NOT_FOUND' });
      expect(sim.requests.map((r) => r.path)).toContain(
        '/api/appliance/recovery/backup/schedules/a%2Fb%20c?action=run',
      );
      await expect(client().getJob('x/../y')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
      expect(sim.requests.map((r) => r.path)).toContain(`${JOBS_PATH}/x%2F..%2Fy`);
    });

    it('reads jobs and schedules', async () => {
      const vc = client();
      const job = await vc.runSchedule('default', undefined);
      expect(await vc.listJobs()).toEqual([job.id]);
      expect(await vc.getJob(job.id)).toMatchObject({ id: job.id, state: 'INPROGRESS' });
      expect(Object.keys(await vc.listSchedules())).toEqual(['default']);
      expect(requestsTo('GET', JOBS_PATH)).toHaveLength(1);
      expect(requestsTo('GET', '/api/appliance/recovery/backup/schedules')).toHaveLength(1);
      expect(requestsTo('GET', `${JOBS_PATH}/${job.id}`)).toHaveLength(1);
    });

    it('an appliance URL with a trailing slash works the same', async () => {
      expect(await client({ url: `${sim.url}/` }).listJobs()).toEqual([]);
    });

    it('an appliance behind a path prefix (a reverse proxy) keeps it, without a doubled slash', async () => {
      await expect(client({ url: `${sim.url}/vcenter//` }).listJobs()).rejects.toMatchObject({
        code: 'APPLIANCE_ERROR',
      });
      expect(sim.requests.map((r) => r.path)).toEqual(['/vcenter/api/session']);
    });

    it('each operation names itself in what the caller reads', async () => {
      const vc = client();
      await vc.listJobs();
      const malformed = (path: string) => sim.faults.set({ kind: 'status', status: 200, rawBody: '{', path, times: 1 });
      malformed('?action=run');
      await expect(vc.runSchedule('nightly', undefined)).rejects.toMatchObject({
        detail: expect.stringMatching(
          /^Appliance vc-a sent a malformed answer when asked to run backup schedule nightly\./,
        ),
      });
      malformed(`${JOBS_PATH}/`);
      await expect(vc.getJob('j-1')).rejects.toMatchObject({
        detail: 'Appliance vc-a sent a malformed answer when asked to read backup job j-1.',
      });
      malformed('/backup/schedules');
      await expect(vc.listSchedules()).rejects.toMatchObject({
        detail: 'Appliance vc-a sent a malformed answer when asked to list backup schedules.',
      });
      sim.faults.set({ kind: 'status', status: 200, rawBody: '{', path: JOBS_PATH, method: 'GET', times: 1 });
      await expect(vc.listJobs()).rejects.toMatchObject({
        detail: 'Appliance vc-a sent a malformed answer when asked to list backup jobs.',
      });
    });

    it('an answer larger than 1 MiB is malformed: the client stops reading it, and does not ask again', async () => {
      const vc = client();
      await vc.listJobs();
      const big = JSON.stringify(Array.from({ length: 110_000 }, (_, i) => `job-${String(i).padStart(4, '0')}`));
      expect(big.length).toBeGreaterThan(1024 * 1024);
      sim.faults.set({ kind: 'status', status: 200, rawBody: big, path: JOBS_PATH, method: 'GET', times: 1 });
      await expect(vc.listJobs()).rejects.toMatchObject({
        code: 'APPLIANCE_ERROR',
        detail: 'Appliance vc-a sent a malformed answer when asked to list backup jobs.',
      });
      expect(requestsTo('GET', JOBS_PATH)).toHaveLength(2);
      // Under the limit the same kind of answer is read.
      const fits = JSON.stringify(Array.from({ length: 1_000 }, (_, i) => `job-${i}`));
      sim.faults.set({ kind: 'status', status: 200, rawBody: fits, path: JOBS_PATH, method: 'GET', times: 1 });
      expect(await vc.listJobs()).toHaveLength(1_000);
    });

    it('an answer nested deeper than 32 levels is malformed, even when it has the right shape', async () => {
      const vc = client();
      const job = await vc.runSchedule('default', undefined);
      const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const answer = (depth: number) => `{"id":"${job.id}","state":"RUNNING","progress":5,"extra":${nested(depth)}}`;
      sim.faults.set({ kind: 'status', status: 200, rawBody: answer(32), path: `${JOBS_PATH}/`, times: 1 });
      await expect(vc.getJob(job.id)).rejects.toMatchObject({
        code: 'APPLIANCE_ERROR',
        detail: `Appliance vc-a sent a malformed answer when asked to read backup job ${job.id}.`,
      });
      // 31 levels of brackets inside the object (32 in all) are within the bound.
      sim.faults.set({ kind: 'status', status: 200, rawBody: answer(31), path: `${JOBS_PATH}/`, times: 1 });
      expect(await vc.getJob(job.id)).toMatchObject({ id: job.id, state: 'RUNNING' });
    });

    it('a 404 to a list is the appliance failing, not a missing schedule or job', async () => {
      const vc = client();
      await vc.listJobs();
      sim.faults.set({ kind: 'status', status: 404, errorType: 'NOT_FOUND', times: 2 });
      await expect(vc.listSchedules()).rejects.toMatchObject({ code: 'APPLIANCE_ERROR' });
      await expect(vc.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_ERROR' });
    });

    it('only 2xx answers are results: a 300 is an error, whatever its body', async () => {
      const vc = client();
      await vc.listJobs();
      sim.faults.set({ kind: 'status', status: 300, rawBody: '[]', path: JOBS_PATH, times: 1 });
      await expect(vc.listJobs()).rejects.toMatchObject({
        code: 'APPLIANCE_ERROR',
        details: { upstream: { status: 300 } },
      });
    });
  });

  it('never follows a redirect: the session and the run go nowhere but the appliance', async () => {
    // Where a followed redirect would land: it records what reaches it.
    const elsewhere: { method?: string; headers: Record<string, unknown> }[] = [];
    const trap = createServer((req, res) => {
      elsewhere.push({ method: req.method, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"j-1","state":"INPROGRESS","progress":0}');
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    try {
      const to = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/api/appliance/recovery/backup/job/j-1`;
      const vc = client();
      await vc.listJobs();
      for (const status of [301, 302, 307, 308]) {
        sim.faults.set({ kind: 'status', status, rawBody: '', location: to, path: '?action=run', times: 1 });
        await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({
          code: 'APPLIANCE_ERROR',
          details: { upstream: { status } },
        });
        sim.faults.set({ kind: 'status', status, rawBody: '', location: to, path: JOBS_PATH, times: 1 });
        await expect(vc.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_ERROR' });
      }
      expect(elsewhere).toEqual([]);
      expect(requestsTo('POST', RUN_PATH)).toHaveLength(4);
    } finally {
      await new Promise((resolve) => trap.close(resolve));
    }
  });

  describe('one session, one login', () => {
    it('concurrent calls on a cold client share one login, and later calls reuse its session', async () => {
      const vc = client();
      await Promise.all(Array.from({ length: 20 }, () => vc.listJobs()));
      await vc.listJobs();
      expect(sim.counters).toMatchObject({ loginAttempts: 1, maxConcurrentLogins: 1, jobLists: 21 });
      const tokens = new Set(requestsTo('GET', JOBS_PATH).map((r) => r.headers['vmware-api-session-id']));
      expect(tokens.size).toBe(1);
    });

    it('twenty calls refused with the same expired session cause one new login, and each is answered', async () => {
      const vc = client();
      await vc.listJobs();
      sim.expireAllSessions();
      const answers = await Promise.all(Array.from({ length: 20 }, () => vc.listJobs()));
      expect(answers).toHaveLength(20);
      expect(sim.counters).toMatchObject({ loginAttempts: 2, maxConcurrentLogins: 1, rejectedSessions: 20 });
    });

    it('a run refused because its session expired is replayed once, on a fresh session: one backup', async () => {
      const vc = client();
      await vc.listJobs();
      sim.expireAllSessions();
      await vc.runSchedule('default', undefined);
      expect(sim.counters).toMatchObject({ runs: 2, jobsStarted: 1, loginAttempts: 2 });
      const [refused, replayed] = requestsTo('POST', RUN_PATH);
      expect(replayed.headers['vmware-api-session-id']).not.toBe(refused.headers['vmware-api-session-id']);
    });

    it('refused again right after a fresh login: no second replay, the account may be disabled', async () => {
      const vc = client();
      await vc.listJobs();
      sim.faults.set({ kind: 'rejectCredentials', path: '?action=run' });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({
        code: 'APPLIANCE_AUTH_FAILED',
        detail: expect.stringMatching(/refused the gateway's session right after a fresh login/),
      });
      expect(sim.counters).toMatchObject({ runs: 2, jobsStarted: 0, loginAttempts: 2 });
      // The refused session is dropped: closing the client has no session to log out.
      await vc.close();
      expect(requestsTo('DELETE', '/api/session')).toEqual([]);
    });

    it('a rejected service account is held back: one attempt, one log line, callers told when to come back', async () => {
      const vc = client();
      sim.faults.set({ kind: 'rejectCredentials', path: '/api/session', method: 'POST' });
      const first = vc.listJobs();
      const second = vc.listJobs();
      await expect(first).rejects.toMatchObject({
        code: 'APPLIANCE_AUTH_FAILED',
        details: { retryAfter: 60, upstream: { status: 401, errorType: 'UNAUTHENTICATED' } },
      });
      await expect(second).rejects.toMatchObject({ code: 'APPLIANCE_AUTH_FAILED' });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({
        code: 'APPLIANCE_AUTH_FAILED',
        details: { retryAfter: expect.any(Number) },
      });
      expect(sim.counters).toMatchObject({ loginAttempts: 1, runs: 0 });
      expect(logs.filter((l) => l.retryInMs !== undefined)).toEqual([
        expect.objectContaining({
          level: 'error',
          appliance: 'vc-a',
          retryInMs: 60_000,
          msg: "appliance rejected the gateway's service account; logins held back to spare it from SSO lockout",
        }),
      ]);
      expect(vc.health.view()).toMatchObject({ status: 'auth_failed', lastError: 'APPLIANCE_AUTH_FAILED' });
    });

    it('a login answered 401 is a rejected service account, whatever error type came with it', async () => {
      const vc = client();
      sim.faults.set({ kind: 'status', status: 401, errorType: 'UNAUTHORIZED', path: '/api/session', method: 'POST' });
      await expect(vc.listJobs()).rejects.toMatchObject({
        code: 'APPLIANCE_AUTH_FAILED',
        details: { retryAfter: 60, upstream: { status: 401, errorType: 'UNAUTHORIZED' } },
      });
      await expect(vc.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_AUTH_FAILED' });
      expect(sim.counters.loginAttempts).toBe(1);
    });

    it('a login refused for another reason (the session limit) is not held back', async () => {
      const vc = client();
      sim.faults.set({ kind: 'sessionLimit', times: 1 });
      await expect(vc.listJobs()).rejects.toMatchObject({
        code: 'APPLIANCE_UNAVAILABLE',
        detail: expect.stringMatching(/limit of concurrent API sessions/),
      });
      expect(await vc.listJobs()).toEqual([]);
      expect(sim.counters.loginAttempts).toBe(2);
    });

    it.each([
      ['not JSON', '{"token": '],
      ['not a string', '{"value": "abc"}'],
      ['an empty string', '""'],
    ])('a login answered with %s is a malformed answer', async (_name, rawBody) => {
      const vc = client();
      sim.faults.set({ kind: 'status', status: 201, rawBody, path: '/api/session', times: 1 });
      await expect(vc.listJobs()).rejects.toMatchObject({
        code: 'APPLIANCE_ERROR',
        detail: 'Appliance vc-a sent a malformed answer when asked to log in.',
      });
      // A malformed login answer holds no session: closing the client logs nothing out.
      await vc.close();
      expect(requestsTo('DELETE', '/api/session')).toEqual([]);
    });

    it('a login answered 200 instead of 201 is fine', async () => {
      sim.faults.set({
        kind: 'status',
        status: 200,
        rawBody: '"0123456789abcdef0123456789abcdef"',
        path: '/api/session',
      });
      const vc = client();
      await expect(vc.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_AUTH_FAILED' }); // the simulator never issued it
      expect(requestsTo('GET', JOBS_PATH)[0].headers['vmware-api-session-id']).toBe('0123456789abcdef0123456789abcdef');
    });
  });

  describe('failures', () => {
    it('reads are retried after a lost connection (twice, after 100 and 300 ms); a third loss is the answer', async () => {
      const vc = client();
      await vc.listJobs();
      sim.resetCounters();
      sim.faults.set({ kind: 'reset', path: JOBS_PATH, times: 2 });
      const started = Date.now();
      expect(await vc.listJobs()).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(380);
      expect(sim.counters.jobLists).toBe(3);
      sim.resetCounters();
      sim.faults.set({ kind: 'reset', path: JOBS_PATH });
      await expect(vc.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_UNAVAILABLE', details: { retryAfter: 10 } });
      expect(sim.counters.jobLists).toBe(3);
    });

    it('every read is retried after a lost connection: a job, the schedules', async () => {
      const vc = client();
      const job = await vc.runSchedule('default', undefined);
      sim.faults.set({ kind: 'reset', path: `${JOBS_PATH}/`, times: 1 });
      expect(await vc.getJob(job.id)).toMatchObject({ id: job.id });
      sim.faults.set({ kind: 'reset', path: '/backup/schedules', times: 1 });
      expect(Object.keys(await vc.listSchedules())).toEqual(['default']);
      expect(sim.counters).toMatchObject({ jobGets: 2, scheduleLists: 2 });
    });

    it('a run is never retried after a lost connection, and may have started', async () => {
      const vc = client();
      await vc.listJobs();
      sim.faults.set({ kind: 'reset', path: '?action=run', phase: 'after' });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({
        code: 'APPLIANCE_UNAVAILABLE',
        details: { mayHaveStarted: true },
      });
      expect(sim.counters).toMatchObject({ runs: 1, jobsStarted: 1 });
    });

    it('a read that times out is not retried (the appliance is slow, not gone) and says how long it waited', async () => {
      const vc = client({ timeoutMs: 300 });
      await vc.listJobs();
      sim.faults.set({ kind: 'hang', path: JOBS_PATH });
      await expect(vc.listJobs()).rejects.toMatchObject({
        code: 'APPLIANCE_TIMEOUT',
        detail: expect.stringMatching(/within 300 ms/),
      });
      expect(sim.counters.jobLists).toBe(2);
    });

    it('a login that times out says so', async () => {
      const vc = client({ timeoutMs: 300 });
      sim.faults.set({ kind: 'hang', path: '/api/session' });
      await expect(vc.listJobs()).rejects.toMatchObject({
        code: 'APPLIANCE_TIMEOUT',
        detail: 'Appliance vc-a did not answer within 300 ms when asked to log in.',
      });
    });

    it('error answers are mapped with what the appliance said; an HTML page from a proxy is no vAPI error', async () => {
      const vc = client();
      await vc.listJobs();
      sim.faults.set({
        kind: 'status',
        status: 502,
        rawBody: '<html>Bad Gateway</html>',
        contentType: 'text/html',
        times: 1,
      });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({
        code: 'APPLIANCE_ERROR',
        details: { upstream: { status: 502, messages: [] }, mayHaveStarted: true },
      });
      sim.faults.set({ kind: 'status', status: 400, errorType: 'FEATURE_IN_USE', message: 'busy', times: 1 });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({
        code: 'BACKUP_IN_PROGRESS',
        details: { upstream: { status: 400, errorType: 'FEATURE_IN_USE' }, mayHaveStarted: false },
      });
    });

    it('an error type named like an Object property is the appliance refusing, not a gateway failure', async () => {
      const vc = client();
      await vc.listJobs();
      sim.faults.set({ kind: 'status', status: 400, rawBody: '{"error_type":"constructor","messages":[]}', times: 1 });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({
        code: 'APPLIANCE_REJECTED',
        details: { upstream: { status: 400, errorType: 'constructor' }, mayHaveStarted: false },
      });
    });

    // Too deep an answer: 'an answer nested deeper than 32 levels is malformed' above (its shape is right otherwise,
    // so only the depth bound refuses it).
    it('a 2xx answer that is not JSON is malformed', async () => {
      const vc = client();
      await vc.listJobs();
      sim.faults.set({ kind: 'status', status: 200, rawBody: '{"id": ', path: JOBS_PATH, times: 1 });
      await expect(vc.listJobs()).rejects.toMatchObject({
        code: 'APPLIANCE_ERROR',
        detail: 'Appliance vc-a sent a malformed answer when asked to list backup jobs.',
      });
    });

    it('a 2xx answer of the wrong shape is malformed too; an empty one is no job', async () => {
      const vc = client();
      await vc.listJobs();
      sim.faults.set({ kind: 'status', status: 200, rawBody: '', path: '?action=run', times: 1 });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({
        code: 'APPLIANCE_ERROR',
        details: { mayHaveStarted: true },
      });
    });

    it('the breaker opens after consecutive connection failures: then calls fail at once, nothing sent', async () => {
      const down = new ApplianceSimulator({ username: USER, password: PASSWORD });
      await down.start();
      const url = down.url;
      await down.stop();
      const vc = client({ url }, { breaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({ code: 'APPLIANCE_UNAVAILABLE' });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({ code: 'APPLIANCE_UNAVAILABLE' });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({
        code: 'APPLIANCE_UNAVAILABLE',
        detail: expect.stringMatching(/failed 2 times in a row/),
        details: { retryAfter: 60 },
      });
      expect(vc.health.view()).toMatchObject({ status: 'unreachable' });
    });

    it('reads get the connections runs do not reserve: beyond them and their queue, OVERLOADED at once', async () => {
      const vc = client({}, { limits: { upstreamConnections: 2, reservedRunConnections: 1 } });
      await vc.listJobs();
      sim.faults.set({ kind: 'latency', ms: 300, path: JOBS_PATH });
      // One connection for reads, one waiting in the queue: the third is refused without being sent.
      const reads = [vc.listJobs(), vc.listJobs(), vc.listJobs()];
      const results = await Promise.allSettled(reads);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      expect((results[2] as PromiseRejectedResult).reason).toMatchObject({
        code: 'OVERLOADED',
        detail: expect.stringMatching(/for reads is busy/),
      });
      // Meanwhile a run has its own connection.
      sim.faults.set({ kind: 'latency', ms: 300, path: JOBS_PATH });
      const slowRead = vc.listJobs();
      await vc.runSchedule('default', undefined);
      await slowRead;
    });

    it('runs (and logins) have their reserved connections and a queue of 32: beyond that, OVERLOADED for runs', async () => {
      const vc = client({}, { limits: { upstreamConnections: 2, reservedRunConnections: 1 } });
      await vc.listJobs();
      sim.faults.set({ kind: 'latency', ms: 50, path: '?action=run' });
      const runs = Array.from({ length: 34 }, () => vc.runSchedule('default', undefined).catch((error) => error));
      const results = await Promise.all(runs);
      const overloaded = results.filter((r) => (r as { code?: string }).code === 'OVERLOADED');
      expect(overloaded).toHaveLength(1);
      expect(overloaded[0]).toMatchObject({ detail: expect.stringMatching(/for runs is busy/) });
      expect(results.indexOf(overloaded[0])).toBe(33);
      expect(sim.counters.runs).toBe(33);
    });
  });

  describe('probes, health and shutdown', () => {
    /** A client with a session and a job list under way, which the appliance answers 200 ms late. */
    async function readUnderWay(): Promise<{ vc: VapiClient; read: Promise<string[]> }> {
      const vc = client();
      await vc.listJobs();
      sim.faults.set({ kind: 'latency', ms: 200, path: JOBS_PATH });
      const read = vc.listJobs();
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { vc, read };
    }

    it('a probe checks the session within its own timeout, records the outcome and never throws', async () => {
      const vc = client({ timeoutMs: 5000 });
      await vc.probe(1000);
      expect(vc.health.view()).toMatchObject({ status: 'ok', lastError: null });
      expect(sim.counters.sessionGets).toBe(1);
      sim.faults.set({ kind: 'hang', path: '/api/session', method: 'GET' });
      const started = Date.now();
      await vc.probe(200);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(vc.health.view()).toMatchObject({ status: 'unreachable', lastError: 'APPLIANCE_TIMEOUT' });
      expect(sim.counters.sessionGets).toBe(2); // a probe is not retried, not even after a reset:
      sim.faults.set({ kind: 'reset', path: '/api/session', method: 'GET', times: 1 });
      await vc.probe(1000);
      expect(sim.counters.sessionGets).toBe(3);
      expect(vc.health.view()).toMatchObject({ status: 'unreachable', lastError: 'APPLIANCE_UNAVAILABLE' });
    });

    it('a probe whose login is slow stops waiting at its own timeout and records that no answer came', async () => {
      const vc = client({ timeoutMs: 5000 });
      sim.faults.set({ kind: 'latency', ms: 1500, path: '/api/session', method: 'POST' });
      const started = Date.now();
      await vc.probe(200);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(vc.health.view()).toMatchObject({ status: 'unreachable', lastError: 'APPLIANCE_TIMEOUT' });
    });

    it("a probe's request is given up at the probe's timeout, not held for the appliance's", async () => {
      const vc = client({ timeoutMs: 8000 });
      await vc.listJobs();
      sim.faults.set({ kind: 'hang', path: '/api/session', method: 'GET' });
      await vc.probe(200);
      // The exchange itself ends (and is counted) soon after the probe's 200 ms (undici's timers are coarse), not
      // after the appliance's 8 s.
      const probeExchanges = async () => {
        const { values } = await (metricsOf.get(vc) as GatewayMetrics).upstreamRequests.get();
        return values.filter((v) => v.labels.operation === 'probe' && v.metricName?.endsWith('_count'));
      };
      await waitFor(async () => (await probeExchanges()).length > 0, 4000);
      expect(await probeExchanges()).toEqual([
        expect.objectContaining({ labels: { operation: 'probe', outcome: 'timeout' }, value: 1 }),
      ]);
    });

    it('close logs the session out, refuses further calls, and is safe to call twice', async () => {
      const vc = client();
      await vc.listJobs();
      const [login] = requestsTo('GET', JOBS_PATH);
      await vc.close();
      expect(sim.counters.logouts).toBe(1);
      expect(sim.openSessions()).toBe(0);
      const [logout] = requestsTo('DELETE', '/api/session');
      expect(logout.headers['vmware-api-session-id']).toBe(login.headers['vmware-api-session-id']);
      expect(logs).toContainEqual(
        expect.objectContaining({ appliance: 'vc-a', status: 204, msg: 'appliance session logged out' }),
      );
      await expect(vc.listJobs()).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        detail: 'Appliance vc-a is being removed or the gateway is shutting down.',
        details: { appliance: 'vc-a' },
      });
      await vc.close();
      expect(sim.counters.logouts).toBe(1);
      // The session is gone with the logout: a second close sends nothing.
      await vc.close();
      expect(requestsTo('DELETE', '/api/session')).toHaveLength(1);
    });

    it('close closes the connections to the appliance', async () => {
      const vc = client();
      await Promise.all([vc.listJobs(), vc.listJobs(), vc.listJobs()]);
      expect(sim.openConnections()).toBeGreaterThan(0);
      await vc.close();
      // Well before the pool's 4 s keep-alive would have let them go.
      await waitFor(() => sim.openConnections() === 0, 1000);
    });

    it('two closes at once both end when the calls under way end, with one logout', async () => {
      const { vc, read } = await readUnderWay();
      const started = Date.now();
      await Promise.all([vc.close(), vc.close()]);
      expect(Date.now() - started).toBeLessThan(2000); // not the 30 s drain bound
      expect(await read).toEqual([]);
      expect(requestsTo('DELETE', '/api/session')).toHaveLength(1);
    });

    it('close without a session sends nothing', async () => {
      await client().close();
      expect(sim.requests).toEqual([]);
    });

    it('close waits for the calls under way, then logs out', async () => {
      const { vc, read } = await readUnderWay();
      await vc.close();
      expect(await read).toEqual([]);
      expect(sim.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'GET', 'DELETE']);
    });

    it('close stops waiting for calls under way after drainMs, and logs out while they still hang', async () => {
      const vc = client({ timeoutMs: 1500 });
      await vc.listJobs();
      sim.faults.set({ kind: 'hang', path: JOBS_PATH });
      const read = vc.listJobs().catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = Date.now();
      const closed = vc.close(150);
      await new Promise((resolve) => setTimeout(resolve, 600));
      // Logged out after ~150 ms, with the read still hanging (its pool closes once it ends).
      const [logout] = requestsTo('DELETE', '/api/session');
      expect(logout.receivedAt - started).toBeGreaterThanOrEqual(140);
      expect(logout.receivedAt - started).toBeLessThan(600);
      await closed;
      expect(await read).toMatchObject({ code: 'APPLIANCE_TIMEOUT' });
    });

    it('a logout that fails is logged, and close still finishes', async () => {
      const vc = client();
      await vc.listJobs();
      sim.faults.set({ kind: 'reset', method: 'DELETE' });
      await vc.close();
      expect(logs).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          appliance: 'vc-a',
          cause: 'ECONNRESET',
          msg: 'appliance session logout failed',
        }),
      );
    });

    it('a logout that hangs is given up after 5 s, its own bound, not the calls’ (shorter) timeout', async () => {
      const vc = client({ timeoutMs: 300 });
      await vc.listJobs();
      sim.faults.set({ kind: 'hang', method: 'DELETE' });
      const started = Date.now();
      await vc.close();
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(4900);
      expect(took).toBeLessThan(9000);
      expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'appliance session logout failed' }));
    }, 15_000);
  });

  describe('metrics', () => {
    /** Logins by result, as `result: count`. */
    async function logins(vc: VapiClient): Promise<Record<string, number>> {
      const { values } = await (metricsOf.get(vc) as GatewayMetrics).logins.get();
      return Object.fromEntries(values.map((v) => [`${v.labels.appliance}/${v.labels.result}`, v.value]));
    }
    /** Upstream exchanges, as `operation/outcome: {count, sum}`. */
    async function exchanges(vc: VapiClient): Promise<Record<string, { count: number; sum: number }>> {
      const { values } = await (metricsOf.get(vc) as GatewayMetrics).upstreamRequests.get();
      const result: Record<string, { count: number; sum: number }> = {};
      for (const v of values) {
        const name = v.metricName ?? '';
        if (!name.endsWith('_count') && !name.endsWith('_sum')) continue;
        // The fleet's histogram: 15 series a label set, so never one set per appliance (see gateway-metrics.ts).
        expect((v.labels as Record<string, unknown>).appliance).toBeUndefined();
        const key = `${v.labels.operation}/${v.labels.outcome}`;
        result[key] ??= { count: 0, sum: 0 };
        result[key][name.endsWith('_count') ? 'count' : 'sum'] = v.value;
      }
      return result;
    }
    /** The appliance's own counters: its calls by outcome, and the seconds they took. */
    async function perAppliance(vc: VapiClient): Promise<{ calls: Record<string, number>; seconds: number }> {
      const metrics = metricsOf.get(vc) as GatewayMetrics;
      const calls = (await metrics.applianceRequests.get()).values.map((v) => [
        `${v.labels.appliance}/${v.labels.outcome}`,
        v.value,
      ]);
      const seconds = (await metrics.applianceRequestSeconds.get()).values;
      expect(seconds.map((v) => v.labels.appliance)).toEqual(['vc-a']);
      return { calls: Object.fromEntries(calls), seconds: seconds[0].value };
    }
    const counts = (all: Record<string, { count: number; sum: number }>) =>
      Object.fromEntries(Object.entries(all).map(([key, { count }]) => [key, count]));

    it('each exchange is counted by operation and the class of its status, its duration in seconds', async () => {
      const vc = client();
      const job = await vc.runSchedule('default', undefined);
      await vc.getJob(job.id);
      await vc.listSchedules();
      sim.faults.set({ kind: 'latency', ms: 250, path: JOBS_PATH });
      await vc.listJobs();
      await vc.probe(1000);
      sim.faults.set({ kind: 'status', status: 404, errorType: 'NOT_FOUND', path: `${JOBS_PATH}/`, times: 1 });
      await expect(vc.getJob('missing')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
      const seen = await exchanges(vc);
      expect(counts(seen)).toEqual({
        'login/2xx': 1,
        'run/2xx': 1,
        'get_job/2xx': 1,
        'get_job/4xx': 1,
        'list_schedules/2xx': 1,
        'list_jobs/2xx': 1,
        'probe/2xx': 1,
      });
      // Seconds, not milliseconds: the slowed list took a quarter of a second or a little more.
      expect(seen['list_jobs/2xx'].sum).toBeGreaterThanOrEqual(0.24);
      expect(seen['list_jobs/2xx'].sum).toBeLessThan(5);
      const own = await perAppliance(vc);
      expect(own.calls).toEqual({ 'vc-a/2xx': 6, 'vc-a/4xx': 1 });
      // Every exchange's time, the slowed list's quarter of a second included, in seconds.
      const total = Object.values(seen).reduce((sum, { sum: seconds }) => sum + seconds, 0);
      expect(own.seconds).toBeCloseTo(total, 6);
      expect(own.seconds).toBeGreaterThanOrEqual(0.24);
      expect(await logins(vc)).toEqual({ 'vc-a/ok': 1 });
    });

    it('an exchange with no answer is a timeout or a transport error', async () => {
      const vc = client({ timeoutMs: 300 });
      await vc.listJobs();
      sim.faults.set({ kind: 'hang', path: JOBS_PATH, times: 1 });
      await expect(vc.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_TIMEOUT' });
      sim.faults.set({ kind: 'reset', path: '?action=run', times: 1 });
      await expect(vc.runSchedule('default', undefined)).rejects.toMatchObject({ code: 'APPLIANCE_UNAVAILABLE' });
      expect(counts(await exchanges(vc))).toEqual({
        'login/2xx': 1,
        'list_jobs/2xx': 1,
        'list_jobs/timeout': 1,
        'run/transport_error': 1,
      });
      expect((await perAppliance(vc)).calls).toEqual({ 'vc-a/2xx': 2, 'vc-a/timeout': 1, 'vc-a/transport_error': 1 });
    });

    it('a login is ok, rejected (401), failed (any other answer, or none), or held back without being sent', async () => {
      const rejected = client();
      sim.faults.set({ kind: 'rejectCredentials', path: '/api/session', method: 'POST' });
      await expect(rejected.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_AUTH_FAILED' });
      await expect(rejected.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_AUTH_FAILED' });
      await expect(rejected.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_AUTH_FAILED' });
      expect(await logins(rejected)).toEqual({ 'vc-a/rejected': 1, 'vc-a/held_back': 2 });
      expect(counts(await exchanges(rejected))).toEqual({ 'login/4xx': 1 });
      sim.faults.clear();

      const refused = client();
      sim.faults.set({
        kind: 'status',
        status: 500,
        errorType: 'ERROR',
        path: '/api/session',
        method: 'POST',
        times: 1,
      });
      await expect(refused.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_ERROR' });
      sim.faults.set({ kind: 'reset', path: '/api/session', method: 'POST', times: 1 });
      await expect(refused.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_UNAVAILABLE' });
      expect(await refused.listJobs()).toEqual([]);
      expect(await logins(refused)).toEqual({ 'vc-a/failed': 2, 'vc-a/ok': 1 });
    });

    it('the breaker state is published per appliance: 1 once open', async () => {
      const down = new ApplianceSimulator({ username: USER, password: PASSWORD });
      await down.start();
      const url = down.url;
      await down.stop();
      const vc = client({ url }, { breaker: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 } });
      await expect(vc.listJobs()).rejects.toMatchObject({ code: 'APPLIANCE_UNAVAILABLE' });
      const { values } = await (metricsOf.get(vc) as GatewayMetrics).breakerState.get();
      expect(values.map((v) => [v.labels.appliance, v.value])).toEqual([['vc-a', 1]]);
    });
  });
});
